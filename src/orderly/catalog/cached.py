"""Products read through the read cache (docs/cache.md), and the news that invalidates them.

A product's entry is what `service.get_product` answers, kept by id. Catalog changes a
product in two places: an operator's change (`service.update_product`), which invalidates
the entry once committed and publishes `product.updated`; and pricing's new WAC
(`price.wac_changed`), which catalog's consumer applies and announces no further. Every
process serving catalog hears both (`forget_on_product_updated`, `forget_on_wac_changed`).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderly.catalog import service, store
from orderly.catalog.messages import ProductUpdated
from orderly.kernel.batch import distinct, in_order_asked
from orderly.messaging import Envelope
from orderly.pricing.messages import PriceWacChanged
from orderly.storage import Database
from orderly.storage.cache import Shelf

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version(product: dict[str, Any]) -> int:
    """The product's `updated_at` in microseconds: what a floor is compared with."""
    since: timedelta = product["updated_at"] - _EPOCH
    return since // timedelta(microseconds=1)


def _revived(kept: dict[str, Any]) -> dict[str, Any]:
    """An entry as `service.get_product` answers it: its price a Decimal, its times times."""
    price = kept["price"]
    return kept | {
        "price": None if price is None else Decimal(price),
        "created_at": datetime.fromisoformat(kept["created_at"]),
        "updated_at": datetime.fromisoformat(kept["updated_at"]),
    }


async def get_product(db: Database, shelf: Shelf, product_id: str) -> dict[str, Any]:
    kept, ticket = await shelf.get(product_id)
    if kept is not None:
        return _revived(kept)
    product = await service.get_product(db, product_id)
    await shelf.put(product_id, product, ticket, version(product))
    return product


async def products_by_ids(db: Database, shelf: Shelf, ids: Sequence[str]) -> list[dict[str, Any]]:
    """As `service.products_by_ids`: those of `ids` that exist, in the order asked, each once."""
    wanted = distinct(ids)
    found: dict[str, dict[str, Any]] = {}
    tickets: dict[str, int | None] = {}
    for product_id, (kept, ticket) in zip(wanted, await shelf.get_many(wanted), strict=True):
        if kept is None:
            tickets[product_id] = ticket
        else:
            found[product_id] = _revived(kept)
    if tickets:
        for product in await service.products_by_ids(db, list(tickets)):
            found[product["id"]] = product
            await shelf.put(product["id"], product, tickets[product["id"]], version(product))
    return in_order_asked(wanted, list(found.values()), lambda product: product["id"])


async def forget_on_product_updated(shelf: Shelf, message: Envelope) -> None:
    """Published once the change is committed: dropping the entry now is enough."""
    await shelf.drop(message.read(ProductUpdated).product_id)


async def forget_on_wac_changed(db: Database, shelf: Shelf, message: Envelope) -> None:
    """Pricing's news, heard here as catalog's consumer hears it: the new price may not be
    committed yet. If the product does not show it, its entry may be filled again only from
    a row written after the one read here (the consumer's, which shows it)."""
    wac = message.read(PriceWacChanged)
    await shelf.drop(wac.product_id)
    row = await db.read(lambda tx: tx.fetch_one(store.GET_PRODUCT, {"id": wac.product_id}))
    if row is None:
        return
    product = service.product_view(row)
    if product["price"] is None or Decimal(product["price"]) != wac.price:
        await shelf.drop(wac.product_id, floor=version(product) + 1)
