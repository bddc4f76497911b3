"""Stock held for an order before the order exists: the direct flow's promise (seed 001).

Ordering holds a direct order's stock under the order's id before it answers, so a 201 means
the units are the order's. The hold runs out after `ORDERLY_ORDER_HOLD_TTL` unless the
order's `order.created` confirms it first; an order that was never committed (its request
failed, its process died) leaves a hold that the sweeper gives back. A hold that ran out
before its order's message arrived (an outbox held up longer than the hold) is made again
when the message comes, from what is available then.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from orderly.inventory import accounts, store
from orderly.inventory.errors import ProductNotFound
from orderly.inventory.messages import SOURCE, AvailabilityLine, InventoryReleased, Units
from orderly.inventory.reservations import (
    Line,
    Outcome,
    hard_reserve,
    release,
    reservation_told,
    reserved_line,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict
from orderly.messaging import emit, new_message
from orderly.observability import RESERVATIONS_EXPIRED
from orderly.storage import Database, Tx

SWEEP_BATCH = 500


class Short(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"


class HoldConfirmed(Conflict):
    code = "hold_confirmed"
    title = "The order holding this stock exists"


async def hold(
    db: Database,
    order_id: str,
    requested: Sequence[tuple[str, int]],
    *,
    account: str | None = None,
    customer: str | None = None,
    ttl: timedelta,
    cart_id: str = "",
) -> Outcome:
    """Hard-reserve every line for `order_id`, or nothing (idempotent per order), for `ttl`
    (the deployment's `InventoryPolicy.hold_ttl`), in `customer`'s name. Unknown products are
    refused; a short line answers the outcome with what is available. The holds of the
    customer's own cart (`cart_id`) become this one; another's cart counts for nothing."""
    lines = [Line(str(n), pid, qty) for n, (pid, qty) in enumerate(requested, start=1)]

    async def work(tx: Tx) -> Outcome:
        now = utcnow()
        cart = cart_id if cart_id and await _owns_cart(tx, cart_id, customer) else ""
        outcome = await hard_reserve(
            tx,
            order_id,
            lines,
            shelf_life_days=await accounts.shelf_life_days(tx, account),
            soft_reference=cart,
            until=now + ttl,
            customer=customer,
            account=account,
        )
        if outcome.unknown:
            missing = list(outcome.unknown)
            raise ProductNotFound(f"unknown product(s): {', '.join(missing)}", product_ids=missing)
        return outcome

    return await db.transaction(work)


async def _owns_cart(tx: Tx, cart_id: str, customer: str | None) -> bool:
    row = await tx.fetch_one(store.CART_OWNER, {"reference": cart_id})
    return row is None or row["customer_id"] == customer


def short_lines(outcome: Outcome) -> list[AvailabilityLine]:
    """Seed 001's words for the lines a reservation could not fill."""
    return [
        {
            "product_id": item["productId"],
            "requested": item["requested"],
            "available": item["available"],
            "is_available": False,
        }
        for item in outcome.items
    ]


async def let_go(db: Database, order_id: str) -> list[Units]:
    """Give back a hold whose order was not placed (what it held); a confirmed one stays
    (409)."""

    async def work(tx: Tx) -> list[Units]:
        rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": order_id})
        if any(r["status"] == "live" and r["expires_at"] is None for r in rows):
            raise HoldConfirmed(f"order {order_id} holds this stock")
        return await release(tx, order_id, "not_placed")

    return await db.transaction(work)


async def confirm(tx: Tx, order_id: str) -> bool:
    """The order was written (its `order.created`): its hold no longer runs out, and
    `inventory.reserved` says what it holds. False if there was no live hold to confirm (it
    ran out, or was let go): a hold that ran out is forgotten, so that it is made anew."""
    confirmed = await tx.fetch_all(store.CONFIRM_HOLD, {"reference": order_id, "at": utcnow()})
    if not confirmed:
        await tx.execute(store.FORGET_EXPIRED_HOLDS, {"reference": order_id})
        return False
    items = [reserved_line(row) for row in sorted(confirmed, key=lambda r: int(r["line"]))]
    await emit(tx, reservation_told(order_id, Outcome(True, items), None))
    return True


async def sweep_expired(db: Database) -> int:
    """Release the holds past their time that no order confirmed (`inventory.released`).
    An order's lines run out together, in one transaction."""

    async def work(tx: Tx) -> int:
        now = utcnow()
        rows = await tx.fetch_all(store.EXPIRED_HOLDS, {"now": now, "limit": SWEEP_BATCH})
        for reference in sorted({str(row["reference"]) for row in rows}):
            await _expire(tx, reference, now)
        return len(rows)

    return await db.transaction(work)


async def _expire(tx: Tx, reference: str, now: datetime) -> None:
    rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference})
    held = [r for r in rows if r["kind"] == "hard" and r["status"] == "live" and r["expires_at"]]
    items = []
    # products locked in id order, as reservations lock them: no deadlock between them
    for row in sorted(held, key=lambda r: str(r["product_id"])):
        await store.lock(tx, row["product_id"])
        params = {"id": row["id"], "status": "expired", "at": now}
        if not await tx.execute(store.SET_RESERVATION_STATUS, params):
            continue
        await store.give_back(tx, row["allocations"])
        items.append(Units(product_id=row["product_id"], quantity=int(row["quantity"])))
    if items:
        tx.after_commit(partial(RESERVATIONS_EXPIRED.labels("order_hold").inc, len(items)))
        released = InventoryReleased(reference=reference, reason="hold_expired", items=items)
        await emit(tx, new_message(released, source=SOURCE, aggregate_id=reference))
