"""The price a buyer pays: its own quote for a product and a quantity, today."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Unprocessable
from orderly.kernel.money import from_cents
from orderly.pricing import domain, store
from orderly.pricing.domain import Buyer, ContractPrice, Quote
from orderly.storage import Database, Tx

CURRENCY = "USD"


class NoPrice(Unprocessable):
    code = "no_price"
    title = "Product has no price"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def quote_view(product_id: str, quantity: int, found: Quote) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "quantity": quantity,
        "price": str(from_cents(found.cents)),
        "currency": CURRENCY,
        "source": found.source.value,
        "contract_id": found.contract_id,
        "min_quantity": found.min_quantity,
        "effective_date": found.effective_date.isoformat(),
    }


async def buyer(tx: Tx, account_id: str | None) -> Buyer:
    """What pricing knows of the account now (its own copy, not the token's claims)."""
    if account_id is None:
        return Buyer()
    row = await tx.fetch_one(store.ACCOUNT, {"account_id": account_id})
    if row is None:
        return Buyer(account=account_id)
    return Buyer(
        account=account_id, segment=row["segment"], gpo=row["gpo"], is_340b=bool(row["is_340b"])
    )


async def quote(tx: Tx, who: Buyer, product_id: str, quantity: int, day: date) -> Quote | None:
    params = {"product_id": product_id, "day": day.isoformat()}
    wac = store.price(await tx.fetch_one(store.CURRENT_WAC, params))
    special = store.price(await tx.fetch_one(store.CURRENT_340B, params)) if who.is_340b else None
    # a contract reaches an account, its segment or its GPO: none reaches a consumer
    offered = {"product_id": product_id}
    rows = [] if who.account is None else await tx.fetch_all(store.PRODUCT_OFFERS, offered)
    offers = [
        ContractPrice(
            contract_id=r["contract_id"],
            kind=r["kind"],
            party=r["party"],
            starts_on=date.fromisoformat(r["starts_on"]),
            ends_on=_day(r["ends_on"]),
            min_quantity=int(r["min_quantity"]),
            cents=int(r["cents"]),
        )
        for r in rows
    ]
    return domain.quote(who, quantity, day, wac, offers, special)


async def price_for(
    db: Database, account_id: str | None, product_id: str, quantity: int = 1
) -> dict[str, Any]:
    """The caller's own price for `quantity` units of a product today, with its source."""
    day = utcnow().date()

    async def work(tx: Tx) -> Quote | None:
        return await quote(tx, await buyer(tx, account_id), product_id, quantity, day)

    found = await db.read(work)
    if found is None:
        raise NoPrice(f"product {product_id} has no price", product_ids=[product_id])
    return quote_view(product_id, quantity, found)


async def quotes(
    db: Database, account_id: str | None, items: Sequence[tuple[str, int]]
) -> list[Quote | None]:
    """The price of each `(product, quantity)` for the account (or a consumer) today, on
    one snapshot; None for a product without a price."""
    day = utcnow().date()

    async def work(tx: Tx) -> list[Quote | None]:
        who = await buyer(tx, account_id)
        return [await quote(tx, who, product_id, quantity, day) for product_id, quantity in items]

    return await db.read(work)


async def quotes_for(
    db: Database, account_id: str | None, items: Sequence[tuple[str, int]]
) -> list[dict[str, Any] | None]:
    """`quotes`, as `GET /api/v1/prices` answers each."""
    found = await quotes(db, account_id, items)
    return [
        None if found_one is None else quote_view(product_id, quantity, found_one)
        for (product_id, quantity), found_one in zip(items, found, strict=True)
    ]
