"""The prices pricing keeps: each product's WAC (from catalog, or set by an operator ahead
of its day) and 340B price, and what it knows of accounts (segment, 340B, GPO)."""

from datetime import date
from decimal import Decimal
from typing import Any

import structlog

from orderly.kernel.aio import every
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import emit, new_message
from orderly.pricing import domain, store
from orderly.pricing.messages import SOURCE, PriceWacChanged
from orderly.storage import Database, Tx

log = structlog.get_logger(__name__)


async def set_catalog_wac(tx: Tx, product_id: str, price: Decimal) -> None:
    """Catalog made or re-priced a product: its price is its WAC from today."""
    # catalog shows this price already: nobody needs telling
    params = {
        "product_id": product_id,
        "effective_from": utcnow().date().isoformat(),
        "cents": to_cents(price),
        "announced": True,
    }
    await tx.execute(store.SET_WAC, params)


async def wac_from_catalog(db: Database, product_id: str, price: Decimal) -> None:
    """`set_catalog_wac`, for a catalog in the same process, which asks before it answers."""
    await db.transaction(lambda tx: set_catalog_wac(tx, product_id, price))


async def copy_account(tx: Tx, account_id: str, segment: str, is_340b: bool) -> None:
    """Pricing's own copy of what it needs of an account."""
    params = {"account_id": account_id, "segment": segment, "is_340b": is_340b}
    await tx.execute(store.UPSERT_ACCOUNT, params)


async def _set(
    tx: Tx, stmt: Any, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    day = (effective_from or utcnow().date()).isoformat()
    params = {"product_id": product_id, "effective_from": day, "cents": to_cents(price)}
    await tx.execute(stmt, params)


async def set_wac(
    db: Database, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    """An operator sets a product's WAC from a day on. One in force at once is announced
    (`price.wac_changed`) with it; one set ahead, on its day (`announce_due_wacs`)."""
    today = utcnow().date()
    if effective_from is not None:
        domain.check_effective_from(effective_from, today)
    day = effective_from or today

    async def work(tx: Tx) -> None:
        params = {
            "product_id": product_id,
            "effective_from": day.isoformat(),
            "cents": to_cents(price),
            "announced": day <= today,
        }
        await tx.execute(store.SET_WAC, params)
        if day <= today:
            await _announce_wac(tx, product_id, today)

    await db.transaction(work)


async def _announce_wac(tx: Tx, product_id: str, today: date) -> None:
    """Tell the other contexts the product's WAC in force `today`."""
    params = {"product_id": product_id, "day": today.isoformat()}
    current = store.price(await tx.fetch_one(store.CURRENT_WAC, params))
    if current is None:
        return
    cents, since = current
    changed = PriceWacChanged(product_id=product_id, price=from_cents(cents), effective_date=since)
    await emit(tx, new_message(changed, source=SOURCE, aggregate_id=product_id))


async def announce_due_wacs(db: Database, today: date | None = None) -> int:
    """Announce the WACs set ahead whose day has come; how many there were."""
    day = today or utcnow().date()

    async def work(tx: Tx) -> int:
        due = await tx.fetch_all(store.UNANNOUNCED_WAC, {"day": day.isoformat()})
        for product_id in sorted({row["product_id"] for row in due}):
            await _announce_wac(tx, product_id, day)
        for row in due:
            await tx.execute(
                store.MARK_WAC_ANNOUNCED,
                {"product_id": row["product_id"], "effective_from": row["effective_from"]},
            )
        return len(due)

    return await db.transaction(work)


async def wac_announcer(db: Database, interval: float) -> None:
    """Every minute at most, announce the WACs whose day has come."""
    failed = "announcing due list prices failed"
    await every(max(interval, 60.0), lambda: announce_due_wacs(db), failed)


async def set_340b(
    db: Database, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    if effective_from is not None:
        domain.check_effective_from(effective_from, utcnow().date())
    await db.transaction(lambda tx: _set(tx, store.SET_340B, product_id, price, effective_from))


async def set_gpo(db: Database, account_id: str, gpo: str | None) -> None:
    async def work(tx: Tx) -> None:
        if await tx.fetch_one(store.ACCOUNT, {"account_id": account_id}) is None:
            raise NotFound(f"account {account_id} is not known to pricing")
        await tx.execute(store.SET_GPO, {"account_id": account_id, "gpo": gpo})

    await db.transaction(work)
