"""Fulfillment commands: a shipment per order, shipped and delivered by the carrier's word."""

from datetime import datetime
from typing import Any

from orderly.fulfillment import store
from orderly.fulfillment.domain import UNSHIPPED, ShipmentStatus, advance
from orderly.fulfillment.messages import SOURCE, OrderStatusUpdated
from orderly.kernel.clock import iso_z, utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, emit, new_message
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated
from orderly.payments.messages import PaymentCompleted
from orderly.storage import Database, Row, Tx


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


def _view(row: Row) -> dict[str, Any]:
    return dict(row)


async def create_shipment_on_order_created(tx: Tx, message: Envelope) -> None:
    """Every order gets a shipment: ready to pick if the order is accepted (seed 001), on
    hold while it is still to be paid."""
    order = message.read(OrderCreated)
    paid_later = order.channel != "direct"
    status = ShipmentStatus.ON_HOLD if paid_later else ShipmentStatus.PENDING_SHIPMENT
    await tx.execute(
        store.INSERT,
        {
            "id": new_id(),
            "order_id": order.order_id,
            "status": status.value,
            "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in order.items],
            "shipping_address": order.shipping_address,
            "owner_id": order.user_id,
            "account_id": order.account_id,
            "at": utcnow(),
        },
    )


async def release_on_payment_completed(tx: Tx, message: Envelope) -> None:
    """The order is paid: its shipment may be picked."""
    await _release(tx, message.read(PaymentCompleted).order_id)


async def _release(tx: Tx, order_id: str) -> None:
    released = await tx.execute(
        store.SET_STATUS,
        {
            "order_id": order_id,
            "status": ShipmentStatus.PENDING_SHIPMENT.value,
            "expected": ShipmentStatus.ON_HOLD.value,
            "at": utcnow(),
        },
    )
    if not released and not await tx.fetch_all(store.BY_ORDER, {"order_id": order_id}):
        # its order.created is not handled yet: tried again later
        raise ShipmentNotFound(f"no shipment for order {order_id} yet")


async def release_on_order_confirmed(tx: Tx, message: Envelope) -> None:
    """A B2B order (seed 000) is confirmed once the ERP has its sales order, and paid on
    account: its shipment may be picked. Other flows' confirmations wait for the payment."""
    confirmed = message.read(OrderConfirmed)
    if confirmed.channel != "b2b":
        return
    await _release(tx, confirmed.order_id)


async def cancel_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """The order is cancelled: a shipment not yet sent is cancelled with it."""
    order_id = message.read(OrderCancelled).order_id
    for expected in UNSHIPPED:
        await tx.execute(
            store.SET_STATUS,
            {
                "order_id": order_id,
                "status": ShipmentStatus.CANCELLED.value,
                "expected": expected.value,
                "at": utcnow(),
            },
        )


async def find_shipments(
    db: Database,
    caller: Principal,
    order_id: str | None,
    limit: int,
    statuses: frozenset[ShipmentStatus] = frozenset(),
) -> list[dict[str, Any]]:
    """The caller's shipments (an operator's: all), optionally those of one order, or of
    any of `statuses`."""
    if order_id is not None:
        rows = await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))
        rows = [row for row in rows if not statuses or row["status"] in statuses]
    else:
        names = frozenset(status.value for status in statuses)
        stmt = store.listing(own=not caller.is_operator, statuses=names)
        mine = {"owner_id": caller.user_id, "account_id": caller.account, "limit": limit}
        rows = await db.read(lambda tx: tx.fetch_all(stmt, mine))
    return [_view(row) for row in rows if caller.may_see(row["owner_id"], row["account_id"])]


async def get_shipment(db: Database, caller: Principal, shipment_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET, {"id": shipment_id}))
    if row is None or not caller.may_see(row["owner_id"], row["account_id"]):
        raise ShipmentNotFound(f"shipment {shipment_id} does not exist")
    return _view(row)


async def ship(
    db: Database, shipment_id: str, tracking_number: str, carrier: str
) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        shipment = await _load(tx, shipment_id)
        new = advance(shipment["status"], ShipmentStatus.SHIPPED)
        await _update(
            tx,
            store.SHIP,
            shipment,
            {"tracking_number": tracking_number, "carrier": carrier, "status": new.value},
        )
        await _report(tx, shipment, new, {"tracking_number": tracking_number, "carrier": carrier})
        return _view(await _load(tx, shipment_id))

    return await db.transaction(work)


async def deliver(
    db: Database, shipment_id: str, delivered_at: datetime | None, delivery_location: str
) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        shipment = await _load(tx, shipment_id)
        new = advance(shipment["status"], ShipmentStatus.DELIVERED)
        when = delivered_at or utcnow()
        await _update(
            tx,
            store.DELIVER,
            shipment,
            {"delivered_at": when, "delivery_location": delivery_location, "status": new.value},
        )
        await _report(
            tx, shipment, new, {"delivered_at": iso_z(when), "delivery_location": delivery_location}
        )
        return _view(await _load(tx, shipment_id))

    return await db.transaction(work)


async def _load(tx: Tx, shipment_id: str) -> Row:
    row = await tx.fetch_one(store.GET, {"id": shipment_id})
    if row is None:
        raise ShipmentNotFound(f"shipment {shipment_id} does not exist")
    return row


async def _update(tx: Tx, stmt: Any, shipment: Row, values: dict[str, Any]) -> None:
    changed = await tx.execute(
        stmt, {**values, "id": shipment["id"], "expected": shipment["status"], "at": utcnow()}
    )
    if not changed:
        raise Conflict(f"shipment {shipment['id']} changed concurrently; try again")


async def _report(tx: Tx, shipment: Row, new: ShipmentStatus, extra: dict[str, Any]) -> None:
    """Seed 001's `order.status_updated` event, field for field."""
    update = OrderStatusUpdated(
        order_id=shipment["order_id"],
        previous_status=shipment["status"],
        current_status=new.value,
        **extra,
    )
    await emit(tx, new_message(update, source=SOURCE, aggregate_id=shipment["order_id"]))
