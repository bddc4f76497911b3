"""A cart's holds: soft reservations of a product's units for a while, renewed, let go,
released by an operator, and marked expired once past their time."""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from orderly.inventory import store
from orderly.inventory.domain import Kind
from orderly.inventory.errors import HoldNotFound, ProductNotFound
from orderly.inventory.messages import SOURCE, InventoryReleased, Units
from orderly.inventory.policy import InventoryPolicy
from orderly.inventory.reservations import released_told
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import emit, new_message
from orderly.observability import RESERVATIONS_EXPIRED
from orderly.storage import Database, Row, Tx

SWEEP_BATCH = 500


@dataclass(frozen=True)
class Holder:
    """Whose cart holds: its customer, and the customer's B2B account if any."""

    customer_id: str | None = None
    account_id: str | None = None


async def soft_reserve(
    tx: Tx,
    reference: str,
    product_id: str,
    quantity: int,
    policy: InventoryPolicy,
    *,
    holder: Holder | None = None,
) -> bool:
    """Hold `quantity` of a product for a cart line until the policy's hold time runs out,
    renewable but never past its maximum age from when this cart first held the product; a
    quantity of 0 lets it go.

    Sets the line's hold to `quantity`; False (and no hold) if ATP does not cover it, the hold
    is as old as it may get, or it became an order's at checkout."""
    if quantity == 0:
        await let_go(tx, reference, product_id)
        return True
    holder = holder or Holder()
    now = utcnow()
    current = await _current(tx, reference, product_id)
    if current is not None and current["status"] == "converted":
        return False  # the cart was checked out: the units are its order's
    # Re-setting the line, or removing and adding it again, renews the same row: its
    # `created_at` is when the cart first held the product, however often it let go since.
    first_held_at = current["created_at"] if current is not None else now
    aged_out = first_held_at + policy.soft_max_age <= now
    dc = None if aged_out else await _dc_for(tx, product_id, quantity, current, now)
    if dc is None:
        await _let_go(tx, current, now)
        return False
    params = {
        "quantity": quantity,
        "dc": dc,
        "expires_at": min(now + policy.soft_ttl, first_held_at + policy.soft_max_age),
        "at": now,
        "customer_id": holder.customer_id,
        "account_id": holder.account_id,
    }
    if current is None:
        params |= {"id": new_id(), "reference": reference, "line": product_id}
        await tx.execute(store.INSERT_SOFT, {**params, "product_id": product_id})
    else:
        await tx.execute(store.RENEW_SOFT, {**params, "id": current["id"]})
    return True


async def let_go(tx: Tx, reference: str, product_id: str) -> None:
    """The cart's line is gone: so is its hold (one its order took at checkout stays)."""
    current = await _current(tx, reference, product_id)
    if current is not None and current["status"] != "converted":
        await _let_go(tx, current, utcnow())


async def _current(tx: Tx, reference: str, product_id: str) -> Row | None:
    """The cart's hold row on the product, in any state, under the product's lock."""
    if not await store.lock(tx, product_id):
        raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
    key = {"reference": reference, "line": product_id, "kind": Kind.SOFT.value}
    return await tx.fetch_one(store.RESERVATION, key)


async def _dc_for(
    tx: Tx, product_id: str, quantity: int, current: Row | None, now: datetime
) -> str | None:
    """The first DC whose ATP (besides this hold) covers `quantity`."""
    stock = await store.stock(tx, product_id, now)
    assert stock is not None  # locked by the caller, so it exists
    return stock.dc_for(quantity, now.date(), current["id"] if current is not None else "")


async def _let_go(tx: Tx, current: Row | None, now: datetime) -> None:
    """Release a hold that still counts; one past its time is left for the sweeper to mark
    expired (and announce)."""
    if current is not None and current["status"] == "live" and current["expires_at"] > now:
        await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": current["id"], "status": "released", "at": now}
        )


async def release_hold(db: Database, product_id: str, cart_id: str) -> None:
    """An operator lets a cart's hold go (`inventory.released`, reason `released_by_operator`).
    The cart keeps its line; setting it again holds anew, within the hold's maximum age."""

    async def work(tx: Tx) -> None:
        now = utcnow()
        current = await _current(tx, cart_id, product_id)
        if current is None or current["status"] != "live" or current["expires_at"] <= now:
            raise HoldNotFound(f"cart {cart_id} holds none of product {product_id}")
        await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": current["id"], "status": "released", "at": now}
        )
        released = InventoryReleased(
            reference=cart_id,
            reason="released_by_operator",
            items=[Units(product_id=product_id, quantity=int(current["quantity"]))],
        )
        await emit(tx, new_message(released, source=SOURCE, aggregate_id=cart_id))

    await db.transaction(work)


async def sweep_expired(db: Database) -> int:
    """Mark soft reservations past their time as expired (ATP stopped counting them already)."""

    async def work(tx: Tx) -> int:
        now = utcnow()
        rows = await tx.fetch_all(store.EXPIRED_SOFT, {"now": now, "limit": SWEEP_BATCH})
        for row in rows:
            await tx.execute(
                store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "expired", "at": now}
            )
            units = [Units(product_id=row["product_id"], quantity=int(row["quantity"]))]
            await emit(tx, released_told(row["reference"], "expired", units))
        if rows:
            tx.after_commit(partial(RESERVATIONS_EXPIRED.labels("cart_hold").inc, len(rows)))
        return len(rows)

    return await db.transaction(work)
