"""What a short pick did not find (`ORDERLY_SHORT_PICK`): a backorder of the order, or its
line cancelled by that many units.

Once an order's picking is complete, the units its picks were short of, per product, become
a backorder (`fulfillment.backordered`) or cancel that much of its line
(`fulfillment.line_cancelled`); the order ships what was picked either way. Inventory took the
units short off hand with `pick.completed` (the shelf never had them), so no reservation is
left for them: a backorder holds no stock until it is released.

An operator releases a backorder once stock is in: under a new fulfillment id (its saga's,
its reservation's, and its picks' and packing's `order_id` on the floor), its units are
reserved, refused if inventory has none (the backorder stays open), then waved, picked,
packed and shipped as an order is (`orchestrator.backorder_definition`); the carrier's
tracking number is the backorder's, and it is fulfilled.
"""

import asyncio
import uuid
from typing import Any

from orderly.fulfillment import orchestrator, picking, store
from orderly.fulfillment.backorder_moves import cancelled
from orderly.fulfillment.domain import (
    BackorderNotOpen,
    BackorderStatus,
    ShipmentStatus,
    move_backorder,
)
from orderly.fulfillment.messages import SOURCE, Backordered, LineCancelled
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.inventory.messages import InventoryReceived
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, emit, new_message
from orderly.storage import Database, Row, Tx

# A short pick's backorder or cancellation is named from the picks' key and the product: an
# order's picking told complete twice records it once.
_NAMESPACE = uuid.UUID("0c7d5e2a-8b1f-4e6a-9d3c-5a2b7e1f4c8d")


class BackorderNotFound(NotFound):
    code = "backorder_not_found"
    title = "Backorder not found"


class BackorderOutOfStock(Conflict):
    code = "backorder_out_of_stock"
    title = "Inventory has no stock for the backorder: it stays open"


async def order_of(tx: Tx, key: str) -> str:
    """The order whose units picks under `key` are: the order's own id, or, for a released
    backorder's picks, the order it belongs to."""
    backorder = await tx.fetch_one(store.BACKORDER_OF_FULFILLMENT, {"fulfillment_id": key})
    return key if backorder is None else str(backorder["order_id"])


async def record_short(tx: Tx, rules: FulfillmentPolicy, key: str, tasks: list[Row]) -> None:
    """The picks under `key` are complete: what they were short of is backordered, or
    cancelled from its line, as the warehouse is configured (once)."""
    short = picking.short_by_product((task["product_id"], int(task["short"])) for task in tasks)
    if not short:
        return
    order_id = await order_of(tx, key)
    now = utcnow()
    for product_id, units in sorted(short.items()):
        made = str(uuid.uuid5(_NAMESPACE, f"{key}/{product_id}"))
        params = {
            "id": made,
            "order_id": order_id,
            "product_id": product_id,
            "quantity": units,
            "at": now,
        }
        told: Backordered | LineCancelled
        if rules.short is picking.ShortPolicy.BACKORDER:
            if not await tx.execute(store.INSERT_BACKORDER, params):
                continue
            told = Backordered(
                backorder_id=made, order_id=order_id, product_id=product_id, quantity=units
            )
        else:
            if not await tx.execute(store.INSERT_LINE_CANCELLATION, params):
                continue
            told = LineCancelled(order_id=order_id, product_id=product_id, quantity=units)
        await emit(tx, new_message(told, source=SOURCE, aggregate_id=order_id))


async def cancel_open_on_order_undone(tx: Tx, order_id: str) -> None:
    """The order's picks were undone (it was cancelled before it shipped): its open
    backorders go with it."""
    for row in await tx.fetch_all(store.BACKORDERS_OF_ORDER, {"order_id": order_id}):
        if row["status"] == BackorderStatus.OPEN:
            await cancelled(tx, row, BackorderStatus.OPEN, "order_cancelled")


async def cancel(db: Database, backorder_id: str) -> dict[str, Any]:
    """An operator's word that an open backorder will not ship (one released is on the
    floor already: `BackorderNotOpen`)."""

    async def work(tx: Tx) -> dict[str, Any]:
        backorder = await _backorder(tx, backorder_id)
        if backorder["status"] != BackorderStatus.OPEN:
            move_backorder(backorder["status"], BackorderStatus.CANCELLED)
            raise BackorderNotOpen(
                f"backorder {backorder_id} is on the floor: it ships",
                backorder_status=backorder["status"],
            )
        if not await cancelled(tx, backorder, BackorderStatus.OPEN, "cancelled_by_operator"):
            raise BackorderNotOpen(f"backorder {backorder_id} changed meanwhile")
        return view(await _backorder(tx, backorder_id))

    return await db.transaction(work)


async def _backorder(tx: Tx, backorder_id: str) -> Row:
    row = await tx.fetch_one(store.GET_BACKORDER, {"id": backorder_id})
    if row is None:
        raise BackorderNotFound(f"backorder {backorder_id} does not exist")
    return row


def view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "product_id": row["product_id"],
        "quantity": int(row["quantity"]),
        "status": row["status"],
        "fulfillment_id": row["fulfillment_id"],
        "releases": int(row["releases"]),
        "reason": row["reason"],
        "carrier": row["carrier"],
        "tracking_number": row["tracking_number"],
        "shipped_at": row["shipped_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def list_backorders(
    db: Database, status: BackorderStatus | None, limit: int
) -> list[dict[str, Any]]:
    """Backorders, oldest first: those of `status`, or all."""
    if status is None:
        rows = await db.read(lambda tx: tx.fetch_all(store.ALL_BACKORDERS, {"limit": limit}))
    else:
        params = {"status": status.value, "limit": limit}
        rows = await db.read(lambda tx: tx.fetch_all(store.BACKORDERS, params))
    return [view(row) for row in rows]


async def get_backorder(db: Database, backorder_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_BACKORDER, {"id": backorder_id}))
    if row is None:
        raise BackorderNotFound(f"backorder {backorder_id} does not exist")
    return view(row)


async def of_order(tx: Tx, order_id: str) -> dict[str, Any]:
    """What short picks left of the order: its backorders and its lines' cancelled units."""
    backordered = await tx.fetch_all(store.BACKORDERS_OF_ORDER, {"order_id": order_id})
    cancelled = await tx.fetch_all(store.LINE_CANCELLATIONS, {"order_id": order_id})
    return {
        "backorders": [view(row) for row in backordered],
        "cancelled_lines": [
            {
                "product_id": row["product_id"],
                "quantity": int(row["quantity"]),
                "cancelled_at": row["created_at"],
            }
            for row in cancelled
        ],
    }


# Releasing a backorder


async def release(
    db: Database, rules: FulfillmentPolicy, backorder_id: str, wait: float
) -> tuple[dict[str, Any], bool]:
    """Ship the backorder now: its units are reserved (`inventory.reserve`, under a new
    fulfillment id), then waved, picked, packed and shipped as an order is. Waits up to
    `wait` seconds for inventory's answer: the backorder, and whether its units are
    reserved yet; `BackorderOutOfStock` (and open again) if inventory has none."""

    async def work(tx: Tx) -> str:
        return await _release(tx, rules, await _backorder(tx, backorder_id))

    fulfillment_id = await db.transaction(work)
    return await _reserved(db, backorder_id, fulfillment_id, wait)


async def _release(tx: Tx, rules: FulfillmentPolicy, backorder: Row) -> str:
    """Release the open backorder in the caller's transaction: its fulfillment id."""
    backorder_id = backorder["id"]
    move_backorder(backorder["status"], BackorderStatus.RELEASED)
    fulfillment_id = new_id()
    params = {"id": backorder_id, "fulfillment_id": fulfillment_id, "at": utcnow()}
    if not await tx.execute(store.RELEASE_BACKORDER, params):
        raise BackorderNotOpen(f"backorder {backorder_id} changed meanwhile")
    if tx.dialect == "postgresql":  # its order's parts are numbered one at a time
        await tx.execute(store.LOCK_SHIPMENT, {"order_id": backorder["order_id"]})
    shipments = await tx.fetch_all(store.BY_ORDER, {"order_id": backorder["order_id"]})
    await _shipment_part(tx, backorder, shipments)
    data = {
        "backorderId": backorder_id,
        "forOrder": backorder["order_id"],
        "productId": backorder["product_id"],
        "quantity": int(backorder["quantity"]),
        "accountId": shipments[0]["account_id"] if shipments else None,
    }
    await orchestrator.start_backorder(tx, rules, fulfillment_id, data)
    return fulfillment_id


async def release_on_inventory_received(
    tx: Tx, rules: FulfillmentPolicy, message: Envelope
) -> None:
    """Stock of a product came in (`inventory.received`): its open backorders are released,
    oldest first, as many as the units received cover (the next that does not fit waits,
    so that a later, smaller one does not pass it). An operator releases them instead when
    the warehouse says so (`ORDERLY_BACKORDER_RELEASE=manual`)."""
    if not rules.auto_release:
        return
    received = message.read(InventoryReceived)
    left = received.quantity
    params = {"product_id": received.product_id}
    for backorder in await tx.fetch_all(store.OPEN_BACKORDERS_OF_PRODUCT, params):
        if int(backorder["quantity"]) > left:
            return
        await _release(tx, rules, backorder)
        left -= int(backorder["quantity"])


async def _shipment_part(tx: Tx, backorder: Row, shipments: list[Row]) -> None:
    """The backorder's shipment, a part of its order's (`shipments`, read under the order's
    lock): made at its first release, waiting again at a later one (a release that found no
    stock cancelled it)."""
    part = await tx.fetch_one(store.OF_BACKORDER, {"backorder_id": backorder["id"]})
    now = utcnow()
    if part is not None:
        params = {
            "id": part["id"],
            "status": ShipmentStatus.PENDING_SHIPMENT.value,
            "expected": ShipmentStatus.CANCELLED.value,
            "at": now,
        }
        await tx.execute(store.MOVE_SHIPMENT, params)
        return
    if not shipments:
        return
    items = [{"product_id": backorder["product_id"], "quantity": int(backorder["quantity"])}]
    number = max(int(row["part"]) for row in shipments) + 1
    pending = ShipmentStatus.PENDING_SHIPMENT.value
    params = store.part(shipments[0], number, items, status=pending, backorder_id=backorder["id"])
    if not await tx.execute(store.INSERT_PART, params):
        raise Conflict(f"order {backorder['order_id']}'s shipments changed; release it again")


async def _reserved(
    db: Database, backorder_id: str, fulfillment_id: str, wait: float
) -> tuple[dict[str, Any], bool]:
    """The released backorder once inventory answered its reservation, or as it is after
    `wait` seconds (False: not answered yet)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = 0.005
    while True:
        row, allocated = await db.read(lambda tx: _release_state(tx, backorder_id, fulfillment_id))
        if row["status"] == BackorderStatus.OPEN:
            raise BackorderOutOfStock(
                f"inventory cannot reserve {row['quantity']} units of {row['product_id']}",
                reason=row["reason"],
                backorder_status=row["status"],
            )
        left = deadline - loop.time()
        if allocated or row["status"] != BackorderStatus.RELEASED or left <= 0:
            return view(row), allocated or row["status"] != BackorderStatus.RELEASED
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


async def _release_state(tx: Tx, backorder_id: str, fulfillment_id: str) -> tuple[Row, bool]:
    row = await tx.fetch_one(store.GET_BACKORDER, {"id": backorder_id})
    assert row is not None
    allocated = bool(await tx.fetch_all(store.ALLOCATION, {"order_id": fulfillment_id}))
    return row, allocated


async def released(tx: Tx, fulfillment_id: str) -> Row | None:
    """The backorder shipping under `fulfillment_id`, if it is one's."""
    return await tx.fetch_one(store.BACKORDER_OF_FULFILLMENT, {"fulfillment_id": fulfillment_id})
