"""The B2B checkout's final price (seed 000 step 3): its saga asks pricing to lock the order's
lines at the prices the order was placed at. Pricing quotes the buyer again, today: if every
line's price is still the one ordered, the lines are locked (`price.locked`); if one moved
(a contract ended, a WAC changed) or has no price, the lock is refused (`price.lock_failed`)
and nothing is locked. Its compensation voids the locks (`price.lock_voided`).

A command sent again answers the same: locks already in force are told again. A replayed
checkout locks again, over the voided figures of the run before.
"""

from orderly.kernel.clock import utcnow
from orderly.kernel.money import to_cents
from orderly.messaging import Envelope, answering, emit
from orderly.pricing import store
from orderly.pricing.locks import LockLine, lock_row, lock_view, locked_message
from orderly.pricing.messages import (
    SOURCE,
    LockPrices,
    PriceLockFailed,
    PriceLockVoided,
    VoidPriceLock,
)
from orderly.pricing.quoting import buyer, quote
from orderly.storage import Tx


async def lock_on_command(tx: Tx, message: Envelope) -> None:
    asked = message.read(LockPrices)
    order_id = asked.order_id
    existing = await tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id})
    if existing and all(row["status"] == "locked" for row in existing):
        told = locked_message(order_id, [lock_view(row) for row in existing])
        await emit(tx, answering(message, told, source=SOURCE, aggregate_id=order_id))
        return
    today = utcnow().date()
    who = await buyer(tx, asked.account_id)
    rows, unpriced, moved = [], [], []
    for n, item in enumerate(asked.items, start=1):
        found = await quote(tx, who, item.product_id, item.quantity, today)
        if found is None:
            unpriced.append(item.product_id)
        elif found.cents != to_cents(item.price):
            moved.append(item.product_id)
        else:
            line = LockLine(str(n), item.product_id, item.quantity)
            rows.append(lock_row(order_id, line, found))
    if unpriced or moved:
        reason = "no_price" if unpriced else "price_changed"
        refused = PriceLockFailed(
            order_id=order_id, run=asked.run, reason=reason, product_ids=unpriced or moved
        )
        await emit(tx, answering(message, refused, source=SOURCE, aggregate_id=order_id))
        return
    now = utcnow()
    await tx.execute_many(store.RELOCK, [{**row, "at": now} for row in rows])
    locked = [lock_view({**row, "status": "locked"}) for row in rows]
    told = locked_message(order_id, locked)
    await emit(tx, answering(message, told, source=SOURCE, aggregate_id=order_id))


async def void_on_command(tx: Tx, message: Envelope) -> None:
    """The saga's compensation: the order's locks no longer hold; answered also when there
    were none (a lock that was refused, or a repeat)."""
    asked = message.read(VoidPriceLock)
    await tx.execute(store.VOID_LOCKS, {"order_id": asked.order_id})
    voided = PriceLockVoided(order_id=asked.order_id)
    await emit(tx, answering(message, voided, source=SOURCE, aggregate_id=asked.order_id))
