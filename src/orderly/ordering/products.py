"""Ordering's copy of the catalog, and the owner it asks before calling a product unknown.

Ordering learns of products from `product.created`, a moment after catalog answered its 201.
An order or a cart line for a product ordering has not heard of yet asks catalog (in one
process its store, between services `GET /api/v1/products/{id}` with the caller's token)
before refusing it: a product that exists is never "unknown". A copy made before ordering
kept DEA schedules says `UNCHECKED` and is asked for again in the same way.
"""

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import httpx

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Unavailable
from orderly.kernel.money import to_cents
from orderly.ordering import store
from orderly.ordering.availability import UnknownProduct
from orderly.storage import Database, Tx
from orderly.web.clients import service_client

T = TypeVar("T")

# The DEA schedule of a copy made before ordering kept schedules: not known yet.
UNCHECKED = "?"


class ProductSource(Protocol):
    async def fetch(self, product_id: str, *, token: str) -> dict[str, Any] | None:
        """The catalog's product (`id`, `sku`, `name`, `price`, `dea_schedule`), or None if
        it does not exist."""
        ...

    async def close(self) -> None: ...


class HttpProducts:
    """Catalog as its own service: `GET /api/v1/products/{id}`."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)

    async def fetch(self, product_id: str, *, token: str) -> dict[str, Any] | None:
        try:
            response = await self._client.get(
                f"/api/v1/products/{product_id}", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"catalog is unreachable ({type(error).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"catalog answered {response.status_code}")
        product: dict[str, Any] = response.json()
        return product

    async def close(self) -> None:
        await self._client.aclose()


async def asking_catalog(
    db: Database,
    source: ProductSource | None,
    product_ids: Sequence[str],
    token: str,
    work: Callable[[], Awaitable[T]],
) -> T:
    """Run `work`; if it refuses a product ordering has not heard of, learn `product_ids`
    from the catalog and, if they all exist, run it once more."""
    try:
        return await work()
    except UnknownProduct:
        if source is None or not await learn(db, source, product_ids, token):
            raise
    return await work()


async def learn(
    db: Database, source: ProductSource, product_ids: Sequence[str], token: str
) -> bool:
    """Copy the products ordering does not know yet from the catalog; False if one of them
    does not exist there either."""
    known = await db.read(lambda tx: _known(tx, product_ids))
    found = []
    for product_id in sorted(set(product_ids) - known):
        product = await source.fetch(product_id, token=token)
        if product is None:
            return False
        found.append(product)
    if found:
        await db.transaction(lambda tx: _copy(tx, found))
    return True


async def _known(tx: Tx, product_ids: Sequence[str]) -> set[str]:
    known = set()
    for product_id in set(product_ids):
        row = await tx.fetch_one(store.GET_PRODUCT, {"product_id": product_id})
        if row is not None and row["dea_schedule"] != UNCHECKED:
            known.add(product_id)
    return known


async def schedules(db: Database, product_ids: Sequence[str]) -> dict[str, str | None]:
    """Each product's DEA schedule (None: not scheduled), from ordering's copy; a product
    the copy lacks, or whose schedule it does not know yet, is `UnknownProduct`."""

    async def work(tx: Tx) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        missing = []
        for product_id in sorted(set(product_ids)):
            row = await tx.fetch_one(store.GET_PRODUCT, {"product_id": product_id})
            if row is None or row["dea_schedule"] == UNCHECKED:
                missing.append(product_id)
            else:
                found[product_id] = row["dea_schedule"]
        if missing:
            raise UnknownProduct(f"unknown product(s): {', '.join(missing)}", product_ids=missing)
        return found

    return await db.read(work)


async def _copy(tx: Tx, products: list[dict[str, Any]]) -> None:
    now = utcnow()
    await tx.execute_many(
        store.UPSERT_PRODUCT,
        [
            {
                "product_id": str(p["id"]),
                "sku": str(p["sku"]),
                "name": str(p["name"]),
                "price_cents": None if p.get("price") is None else to_cents(Decimal(p["price"])),
                "dea_schedule": p.get("dea_schedule"),
                "at": now,
            }
            for p in products
        ],
    )
