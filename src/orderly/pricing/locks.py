"""Price locks: each order's prices, snapshotted as it is placed and voided if it is
cancelled, which later list or contract changes do not touch."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from orderly.kernel.clock import utcnow
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import emit, new_message
from orderly.ordering.messages import OrderCreated
from orderly.pricing import domain, store
from orderly.pricing.domain import Quote
from orderly.pricing.messages import SOURCE, LockedLine, PriceLocked, PriceLockVoided
from orderly.pricing.quoting import NoPrice, buyer, quote
from orderly.storage import Database, Row, Tx


@dataclass(frozen=True)
class LockLine:
    line: str
    product_id: str
    quantity: int


def lock_view(row: Row) -> dict[str, Any]:
    return {
        "line": row["line"],
        "productId": row["product_id"],
        "quantity": int(row["quantity"]),
        "price": str(from_cents(int(row["cents"]))),
        "source": row["source"],
        "contractId": row["contract_id"],
        "effectiveDate": row["effective_date"],
        "status": row["status"],
    }


async def lock_prices(
    tx: Tx, order_id: str, account_id: str | None, lines: Sequence[LockLine]
) -> list[dict[str, Any]]:
    """Snapshot each line's price for the order (`price.locked`); a repeat returns the same
    snapshot, and later list changes do not touch it. Every line must have a price."""
    existing = await tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id})
    if existing:
        return [lock_view(row) for row in existing]
    today = utcnow().date()
    who = await buyer(tx, account_id)
    locks = []
    for line in lines:
        found = await quote(tx, who, line.product_id, line.quantity, today)
        if found is None:
            raise NoPrice(f"product {line.product_id} has no price", product_ids=[line.product_id])
        locks.append(lock_row(order_id, line, found))
    return await _lock(tx, order_id, locks)


def lock_row(order_id: str, line: LockLine, found: Quote) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line": line.line,
        "product_id": line.product_id,
        "quantity": line.quantity,
        "cents": found.cents,
        "source": found.source.value,
        "contract_id": found.contract_id,
        "effective_date": found.effective_date.isoformat(),
    }


async def _lock(tx: Tx, order_id: str, locks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = utcnow()
    await tx.execute_many(store.INSERT_LOCK, [{**lock, "at": now} for lock in locks])
    # the caller saw no lock of this order in this transaction: these rows are all there is
    locked = [lock_view({**lock, "status": "locked"}) for lock in locks]
    told = locked_message(order_id, locked)
    await emit(tx, new_message(told, source=SOURCE, aggregate_id=order_id))
    return locked


def locked_message(order_id: str, locked: list[dict[str, Any]]) -> PriceLocked:
    lines = [msgspec.convert(lock, LockedLine) for lock in locked]
    return PriceLocked(order_id=order_id, items=lines)


def locked_by_saga(order: OrderCreated) -> bool:
    """A B2B order: its checkout's saga asks for the final price itself (`final`)."""
    return order.channel == "b2b"


async def lock_order(tx: Tx, order: OrderCreated) -> None:
    """An order is priced at its buyer's own quote as it is placed; pricing locks those
    figures for it (`price.locked`). A line without a price (seed 001 allows one) is not
    locked, nor is an order cancelled already (its cancellation came first, after a retry)."""
    order_id = order.order_id
    if locked_by_saga(order):
        return
    if await tx.fetch_one(store.LOCKED_OR_VOIDED, {"order_id": order_id}):
        return
    locks = []
    for n, item in enumerate(order.items, start=1):
        if item.price is None:
            continue
        line = LockLine(str(n), item.product_id, item.quantity)
        found = Quote(
            cents=to_cents(item.price),
            source=domain.Source(item.price_source or domain.Source.WAC),
            contract_id=item.contract_id,
            effective_date=item.price_effective_date or utcnow().date(),
        )
        locks.append(lock_row(order_id, line, found))
    if locks:
        await _lock(tx, order_id, locks)


async def void_locks(tx: Tx, order_id: str) -> bool:
    """Compensation: the order's locked prices no longer hold (`price.lock_voided`)."""
    await tx.execute(store.VOID_ORDER, {"order_id": order_id, "at": utcnow()})
    if not await tx.execute(store.VOID_LOCKS, {"order_id": order_id}):
        return False
    voided = PriceLockVoided(order_id=order_id)
    await emit(tx, new_message(voided, source=SOURCE, aggregate_id=order_id))
    return True


async def order_locks(db: Database, order_id: str) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id}))
    return [lock_view(row) for row in rows]
