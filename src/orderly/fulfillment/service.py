"""Fulfillment commands: an order's shipments (one per distribution centre it ships from, and
one per backorder shipped later), shipped and delivered by the carrier's word."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orderly.fulfillment import floor, orchestrator, store
from orderly.fulfillment.domain import (
    UNSHIPPED,
    BackorderStatus,
    ShipmentStatus,
    advance,
    validate,
)
from orderly.fulfillment.messages import (
    SOURCE,
    FulfillmentDelivered,
    FulfillmentShipped,
    OrderStatusUpdated,
    ShipmentCancelled,
    ShipmentFailed,
    ShipOrder,
)
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.kernel.batch import distinct, in_order_asked
from orderly.kernel.clock import iso_z, utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, answering, emit, new_message
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated
from orderly.payments.messages import PaymentCompleted
from orderly.sagas.store import GET_SAGA
from orderly.storage import Database, Row, Tx


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


class ShipmentInFulfillment(Conflict):
    code = "shipment_in_fulfillment"
    title = "The warehouse ships this order once it is picked and packed"


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


async def release_on_payment_completed(tx: Tx, message: Envelope, rules: FulfillmentPolicy) -> None:
    """The order is paid (seeds 002, 003): the warehouse fulfils it."""
    order_id = message.read(PaymentCompleted).order_id
    await _release(tx, order_id)
    await maybe_start(tx, rules, order_id)


async def maybe_start(tx: Tx, rules: FulfillmentPolicy, order_id: str) -> None:
    """Start the order's fulfillment once its shipment is released to the warehouse and its
    allocation is known (whichever comes last), once: it joins a wave and waits for it."""
    # the shipment's row is the order's lock on PostgreSQL; SQLite has one writer
    if tx.dialect == "postgresql" and not await tx.execute(
        store.LOCK_SHIPMENT, {"order_id": order_id}
    ):
        return
    shipment = await tx.fetch_one(store.WAREHOUSE_SHIPMENT, {"order_id": order_id})
    if (
        shipment is None
        or not shipment["warehouse"]
        or shipment["status"] != ShipmentStatus.PENDING_SHIPMENT
    ):
        return
    if await _orchestrated(tx, order_id):
        return
    allocation = await tx.fetch_all(store.ALLOCATION, {"order_id": order_id})
    if not allocation:
        return
    checked = validate(shipment["items"], shipment["shipping_address"], allocation)
    centres = await floor.join_waves(tx, rules, order_id, allocation)
    if len(centres) > 1 and not rules.external:
        await _split(tx, order_id, centres)
    data = {"carrier": rules.carrier}
    await orchestrator.start(tx, rules, order_id, data, (("validate", checked),))


async def _split(tx: Tx, order_id: str, centres: dict[str, list[Row]]) -> None:
    """The order's lines ship from more than one distribution centre: a shipment from
    each, the first keeping its own lines, each other a part like it with its centre's."""
    rows = await tx.fetch_all(store.BY_ORDER, {"order_id": order_id})
    first = rows[0]
    now = utcnow()
    for part, (dc, lots) in enumerate(centres.items()):
        units: dict[str, int] = {}
        for lot in lots:
            units[lot["product_id"]] = units.get(lot["product_id"], 0) + int(lot["quantity"])
        items = [{"product_id": product, "quantity": n} for product, n in units.items()]
        if part == 0:
            params = {"order_id": order_id, "dc": dc, "items": items, "at": now}
            await tx.execute(store.NARROW_SHIPMENT, params)
            continue
        status = first["status"]
        await tx.execute(store.INSERT_PART, store.part(first, part, items, status=status, dc=dc))


async def _release(tx: Tx, order_id: str) -> None:
    released = await tx.execute(store.RELEASE_TO_WAREHOUSE, {"order_id": order_id, "at": utcnow()})
    if not released and not await tx.fetch_all(store.BY_ORDER, {"order_id": order_id}):
        # its order.created is not handled yet: tried again later
        raise ShipmentNotFound(f"no shipment for order {order_id} yet")


def fulfilled_here(message: Envelope) -> bool:
    """Whether an order's confirmation starts its fulfillment: a B2B order's (seed 000),
    confirmed once the ERP has its sales order, paid on account. Other flows' wait for the
    payment."""
    return message.read(OrderConfirmed).channel == "b2b"


async def release_on_order_confirmed(tx: Tx, message: Envelope, rules: FulfillmentPolicy) -> None:
    """A confirmed B2B order may be picked: it joins a wave, and its fulfillment starts."""
    if not fulfilled_here(message):
        return
    order_id = message.read(OrderConfirmed).order_id
    await _release(tx, order_id)
    await maybe_start(tx, rules, order_id)


async def cancel_on_order_cancelled(tx: Tx, message: Envelope, rules: FulfillmentPolicy) -> None:
    """The order is cancelled: a shipment not yet sent is cancelled with it, the order leaves
    its wave, and its fulfillment undoes what it did, last first."""
    order_id = message.read(OrderCancelled).order_id
    await floor.leave_waves(tx, order_id)
    await orchestrator.signal(tx, rules, order_id, message)
    # a backorder of it released to the floor is undone too (an open one goes with its picks)
    for backorder in await tx.fetch_all(store.BACKORDERS_OF_ORDER, {"order_id": order_id}):
        if backorder["status"] == BackorderStatus.RELEASED:
            await orchestrator.signal(tx, rules, backorder["fulfillment_id"], message)
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
    order_ids: Sequence[str],
    limit: int,
    statuses: frozenset[ShipmentStatus] = frozenset(),
) -> list[dict[str, Any]]:
    """The caller's shipments (an operator's: all), newest first, up to `limit`; with
    `order_ids`, every one of those orders' instead, in the order asked (each order once, its
    parts in order). Only those of any of `statuses`, if any are named."""
    if order_ids:
        wanted = distinct(order_ids)
        found = await db.read(lambda tx: tx.fetch_all(store.BY_ORDERS, {"order_ids": wanted}))
        rows = in_order_asked(wanted, found, lambda row: row["order_id"])
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


async def get_order_shipment(db: Database, caller: Principal, order_id: str) -> dict[str, Any]:
    """The order's shipment, if the caller may see it."""
    rows = await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))
    seen = [row for row in rows if caller.may_see(row["owner_id"], row["account_id"])]
    if not seen:
        raise ShipmentNotFound(f"no shipment of order {order_id}")
    return _view(seen[0])


async def order_shipments(db: Database, order_id: str) -> list[dict[str, Any]]:
    """All the order's shipments, first part first (for an operator)."""
    rows = await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))
    return [_view(row) for row in rows]


async def ship(
    db: Database, shipment_id: str, tracking_number: str, carrier: str
) -> dict[str, Any]:
    """An operator's word that the carrier took an order the warehouse does not fulfil
    itself (an orchestrated one ships when packed, `ship_on_command`)."""

    async def work(tx: Tx) -> dict[str, Any]:
        shipment = await _load(tx, shipment_id)
        if await _orchestrated(tx, shipment["order_id"]):
            raise ShipmentInFulfillment(
                f"shipment {shipment_id} ships once its order is picked and packed"
            )
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
    db: Database,
    rules: FulfillmentPolicy,
    shipment_id: str,
    delivered_at: datetime | None,
    delivery_location: str,
) -> dict[str, Any]:
    """The carrier's word that the shipment arrived (seed 000: `fulfillment.delivered`); the
    order's fulfillment, if the warehouse ran it, is complete."""

    async def work(tx: Tx) -> dict[str, Any]:
        shipment = await _load(tx, shipment_id)
        split = shipment["dc"] is not None
        if split:  # the parts of an order delivered at once take turns
            await orchestrator.lock(tx, shipment["order_id"])
            shipment = await _load(tx, shipment_id)
        new = advance(shipment["status"], ShipmentStatus.DELIVERED)
        when = delivered_at or utcnow()
        await _update(
            tx,
            store.DELIVER,
            shipment,
            {"delivered_at": when, "delivery_location": delivery_location, "status": new.value},
        )
        order_id = shipment["order_id"]
        # an order shipped in parts is delivered with its last (seed 001's report, the
        # order's fulfillment complete); each part's delivery is its own news, and so is a
        # backorder's, which follows its order
        others = await tx.fetch_all(store.BY_ORDER, {"order_id": order_id}) if split else []
        last = shipment["backorder_id"] is None and all(
            row["status"] in _ARRIVED or row["id"] == shipment_id or row["backorder_id"]
            for row in others
        )
        if last:
            place = {"delivered_at": iso_z(when), "delivery_location": delivery_location}
            await _report(tx, shipment, new, place)
        delivered = FulfillmentDelivered(
            order_id=order_id,
            shipment_id=shipment_id,
            delivered_at=when,
            delivery_location=delivery_location,
        )
        told = new_message(delivered, source=SOURCE, aggregate_id=order_id)
        await emit(tx, told)
        if last:
            await orchestrator.signal(tx, rules, order_id, told)
        return _view(await _load(tx, shipment_id))

    return await db.transaction(work)


# a part of an order in one of these is not waited for to call the order delivered
_ARRIVED = (ShipmentStatus.DELIVERED.value, ShipmentStatus.CANCELLED.value)


async def _orchestrated(tx: Tx, order_id: str) -> bool:
    return await tx.fetch_one(GET_SAGA, {"id": orchestrator.saga_id(order_id)}) is not None


async def ship_on_command(tx: Tx, message: Envelope, rules: FulfillmentPolicy) -> None:
    """The orchestrator's `fulfillment.ship`: the carrier takes the packed order, each of
    its shipments (one per distribution centre it ships from) under a tracking number of its
    own (`SHP-…`); answered `fulfillment.shipped` for each (again, with the same numbers, if
    asked again), or `fulfillment.shipment.failed` if one may not go."""
    command = message.read(ShipOrder)
    order_id = command.order_id
    rows = await tx.fetch_all(store.BY_ORDER, {"order_id": order_id})
    if not rows:
        raise ShipmentNotFound(f"no shipment for order {order_id} yet")
    statuses = [ShipmentStatus(row["status"]) for row in rows]
    if ShipmentStatus.PENDING_SHIPMENT in statuses and rules.external:
        return  # the external WMS ships it and says so (`record_shipped`)
    stuck = [status for status in statuses if status not in _GOING]
    answers: list[FulfillmentShipped | ShipmentFailed] = []
    if stuck:
        answers.append(
            ShipmentFailed(order_id=order_id, reason=f"shipment_{stuck[0].value.lower()}")
        )
    for row, status in zip(rows, statuses, strict=True):
        if stuck:
            break
        carrier, tracking = row["carrier"], row["tracking_number"]
        if status is ShipmentStatus.PENDING_SHIPMENT:
            carrier, tracking = command.carrier, floor.tracking_number()
            changes = {"tracking_number": tracking, "carrier": carrier, "status": "SHIPPED"}
            await _update(tx, store.SHIP, row, changes)
            extra = {"tracking_number": tracking, "carrier": carrier}
            await _report(tx, row, ShipmentStatus.SHIPPED, extra)
        answers.append(
            FulfillmentShipped(
                order_id=order_id, shipment_id=row["id"], carrier=carrier, tracking_number=tracking
            )
        )
    for answer in answers:
        told = answering(message, answer, source=SOURCE, aggregate_id=order_id)
        await emit(tx, told)
    await orchestrator.signal(tx, rules, order_id, told)


# a shipment in one of these may be asked to ship (again)
_GOING = (ShipmentStatus.PENDING_SHIPMENT, ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED)


async def ship_backorder(
    tx: Tx, rules: FulfillmentPolicy, message: Envelope, backorder: Row, tracking: str
) -> None:
    """A released backorder's `fulfillment.ship`: the carrier takes its shipment (a part of
    its order's) under `tracking`, and it is fulfilled: seed 001's `order.status_updated`
    for the order with its tracking number (mailed), and `fulfillment.shipped`; again, with
    the same number, if asked again; `fulfillment.shipment.failed` if it was cancelled
    meanwhile."""
    command = message.read(ShipOrder)
    order_id = str(backorder["order_id"])
    part = await tx.fetch_one(store.OF_BACKORDER, {"backorder_id": backorder["id"]})
    carrier, number = backorder["carrier"], backorder["tracking_number"]
    if backorder["status"] == BackorderStatus.RELEASED:
        carrier, number = command.carrier, tracking
        params = {"id": backorder["id"], "carrier": carrier, "tracking_number": number}
        if not await tx.execute(store.SHIP_BACKORDER, {**params, "at": utcnow()}):
            raise Conflict(f"backorder {backorder['id']} changed meanwhile")
        if part is not None and part["status"] == ShipmentStatus.PENDING_SHIPMENT:
            changes = {"tracking_number": number, "carrier": carrier, "status": "SHIPPED"}
            await _update(tx, store.SHIP, part, changes)
            extra = {"tracking_number": number, "carrier": carrier}
            await _report(tx, part, ShipmentStatus.SHIPPED, extra)
    answer: FulfillmentShipped | ShipmentFailed
    if number:
        answer = FulfillmentShipped(
            order_id=order_id,
            shipment_id=backorder["id"] if part is None else part["id"],
            carrier=carrier,
            tracking_number=number,
        )
    else:
        answer = ShipmentFailed(order_id=order_id, reason=f"backorder_{backorder['status']}")
    told = answering(message, answer, source=SOURCE, aggregate_id=order_id)
    await emit(tx, told)
    await orchestrator.signal(tx, rules, command.order_id, told)


async def record_shipped(
    tx: Tx, rules: FulfillmentPolicy, order_id: str, carrier: str, tracking: str
) -> None:
    """An external WMS handed the order to its carrier (once): shipped, seed 001's
    `order.status_updated` and `fulfillment.shipped` go out."""
    rows = await tx.fetch_all(store.BY_ORDER, {"order_id": order_id})
    if not rows:
        raise ShipmentNotFound(f"no shipment for order {order_id}")
    shipment = rows[0]
    if shipment["status"] != ShipmentStatus.PENDING_SHIPMENT:
        return
    changes = {"tracking_number": tracking, "carrier": carrier, "status": "SHIPPED"}
    await _update(tx, store.SHIP, shipment, changes)
    extra = {"tracking_number": tracking, "carrier": carrier}
    await _report(tx, shipment, ShipmentStatus.SHIPPED, extra)
    shipped = FulfillmentShipped(
        order_id=order_id, shipment_id=shipment["id"], carrier=carrier, tracking_number=tracking
    )
    told = new_message(shipped, source=SOURCE, aggregate_id=order_id)
    await emit(tx, told)
    await orchestrator.signal(tx, rules, order_id, told)


async def cancel_shipment_on_command(tx: Tx, message: Envelope) -> None:
    """The orchestrator's `fulfillment.shipment.cancel`: a shipment not delivered is
    cancelled (one the carrier took, recalled: its order was cancelled before ordering heard
    it shipped); answered either way."""
    order_id = message.data["orderId"]
    for expected in (*UNSHIPPED, ShipmentStatus.SHIPPED):
        params = {
            "order_id": order_id,
            "status": ShipmentStatus.CANCELLED.value,
            "expected": expected.value,
            "at": utcnow(),
        }
        await tx.execute(store.SET_STATUS, params)
    told = ShipmentCancelled(order_id=order_id)
    await emit(tx, answering(message, told, source=SOURCE, aggregate_id=order_id))


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
