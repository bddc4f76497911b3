"""An order's fulfillment, durable (seed 004's "Workflow Data Flow", seed 000 sections 4-5).

Once an order may ship, a saga in fulfillment's database takes it through

    validate → reserve (held already) → wait for its wave → pick → pack → ship → wait for delivery

Validating is the starter's check, recorded as the saga's first step: the order has an
address and inventory allocated exactly its lines.

Reserving was done by the checkout: the saga starts with it taken, so that undoing gives the
stock back. Waiting for the wave is a signal (`wave.released`, given as an operator or the
schedule releases the wave); the pick, pack and ship steps are commands to the warehouse (the
`Wms` port, Orderly's own floor here), each answered when the floor is done: the last unit
scanned (`pick.completed`), the order packed (`pack.completed`), the carrier's tracking
number (`fulfillment.shipped`). The wait for delivery ends with the carrier's word
(`fulfillment.delivered`), and the order is complete.

A released backorder ships the same way under a saga of its own (`backorder`): its units are
reserved first (`inventory.reserve`), as the order's were at checkout, and it is done once
the carrier takes it.

Every wait has a timeout; one that runs out is escalated to an operator (`escalations`), and
waits again. Only the carrier's pickup fails in the end: then, as when the order is cancelled
before it ships, the steps are undone in reverse (seed 004: cancel shipment → cancel pack →
cancel pick → release inventory).
"""

import functools
import uuid
from typing import Any

import msgspec

from orderly.fulfillment import store
from orderly.fulfillment.backorder_moves import cancelled
from orderly.fulfillment.domain import BackorderStatus, ShipmentStatus
from orderly.fulfillment.messages import (
    SOURCE,
    CancelPack,
    CancelPicks,
    CancelShipment,
    CreatePack,
    CreatePicks,
    FulfillmentDelivered,
    FulfillmentEscalated,
    FulfillmentShipped,
    PackCancelled,
    PackCompleted,
    PickCancelled,
    PickCompleted,
    ShipmentCancelled,
    ShipmentFailed,
    ShipOrder,
    WaveReleased,
)
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReleaseInventory,
    ReserveInventory,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, Message, emit, new_message
from orderly.ordering.messages import OrderCancelled
from orderly.sagas import engine
from orderly.sagas.engine import Definition, Saga, Step, StepStatus
from orderly.sagas.store import GET_SAGA_FOR_UPDATE
from orderly.storage import Tx

KIND = "fulfillment"
BACKORDER = "backorder"
# Saga ids are made from order ids (or a released backorder's fulfillment id, a new id) in a
# namespace of fulfillment's own: an answer naming a saga (`saga_id`) is then never taken for
# ordering's checkout saga of the same order, and the floor signals either kind alike.
_NAMESPACE = uuid.UUID("5f6b2c1e-3d4a-4c1b-9a7e-0b1f2e3d4c5a")


def saga_id(order_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, order_id))


@functools.cache
def definitions(rules: FulfillmentPolicy) -> dict[str, Definition]:
    """The saga kinds fulfillment runs, for `engine.advance` and the deadline sweep."""
    return {KIND: definition(rules), BACKORDER: backorder_definition(rules)}


def definition(rules: FulfillmentPolicy) -> Definition:
    cancelled = (OrderCancelled.TYPE,)
    floor = rules.floor_wait
    return Definition(
        kind=KIND,
        source=SOURCE,
        steps=(
            Step(
                "reserve",
                None,
                (),
                compensation=ReleaseInventory.TYPE,
                compensated=(InventoryReleased.TYPE,),
                timeout=60.0,
                retries=5,
            ),
            Step("wave", None, (WaveReleased.TYPE,), cancelled, timeout=floor, escalations=None),
            Step(
                "pick",
                CreatePicks.TYPE,
                (PickCompleted.TYPE,),
                cancelled,
                CancelPicks.TYPE,
                (PickCancelled.TYPE,),
                timeout=floor,
                retries=0,
                escalations=None,
                undo_if_failed=True,
            ),
            Step(
                "pack",
                CreatePack.TYPE,
                (PackCompleted.TYPE,),
                cancelled,
                CancelPack.TYPE,
                (PackCancelled.TYPE,),
                timeout=floor,
                retries=0,
                escalations=None,
                undo_if_failed=True,
            ),
            Step(
                "ship",
                ShipOrder.TYPE,
                (FulfillmentShipped.TYPE,),
                (ShipmentFailed.TYPE, *cancelled),
                CancelShipment.TYPE,
                (ShipmentCancelled.TYPE,),
                timeout=rules.ship_wait,
                retries=2,
                escalations=3,
                undo_if_failed=True,
            ),
            # A cancel ordering took while the carrier was taking the parcel (it had not heard
            # yet) reaches the order here: the shipment is recalled, and all undone.
            Step(
                "deliver",
                None,
                (FulfillmentDelivered.TYPE,),
                cancelled,
                timeout=rules.delivery_wait,
                escalations=None,
            ),
        ),
        command_data=_command(rules),
        on_completed=_settled,
        on_compensated=_settled,
        on_step=_on_step,
    )


def backorder_definition(rules: FulfillmentPolicy) -> Definition:
    """A released backorder's shipment: its units reserved first (inventory may have none:
    the backorder is open again), then the same floor as an order's, under the release's own
    id (`orderId` in its data and commands), until the carrier takes it. Its order
    cancelled meanwhile, it is undone and cancelled."""
    floor = rules.floor_wait
    cancelled = (OrderCancelled.TYPE,)
    return Definition(
        kind=BACKORDER,
        source=SOURCE,
        steps=(
            Step(
                "reserve",
                ReserveInventory.TYPE,
                (InventoryReserved.TYPE,),
                (InventoryInsufficient.TYPE, *cancelled),
                ReleaseInventory.TYPE,
                (InventoryReleased.TYPE,),
                timeout=60.0,
                retries=5,
            ),
            Step("wave", None, (WaveReleased.TYPE,), cancelled, timeout=floor, escalations=None),
            Step(
                "pick",
                CreatePicks.TYPE,
                (PickCompleted.TYPE,),
                cancelled,
                CancelPicks.TYPE,
                (PickCancelled.TYPE,),
                timeout=floor,
                retries=0,
                escalations=None,
                undo_if_failed=True,
            ),
            Step(
                "pack",
                CreatePack.TYPE,
                (PackCompleted.TYPE,),
                cancelled,
                CancelPack.TYPE,
                (PackCancelled.TYPE,),
                timeout=floor,
                retries=0,
                escalations=None,
                undo_if_failed=True,
            ),
            Step(
                "ship",
                ShipOrder.TYPE,
                (FulfillmentShipped.TYPE,),
                (ShipmentFailed.TYPE, *cancelled),
                CancelShipment.TYPE,
                (ShipmentCancelled.TYPE,),
                timeout=rules.ship_wait,
                retries=2,
                escalations=3,
                undo_if_failed=True,
            ),
        ),
        command_data=_command(rules),
        on_completed=_settled,
        on_compensated=_backorder_reopened,
        on_step=_on_step,
    )


def _command(rules: FulfillmentPolicy) -> Any:
    def command(saga: Saga, step: Step, undo: bool) -> Message:
        order_id = saga.data["orderId"]
        kinds: dict[str, type[Message]] = {
            CreatePicks.TYPE: CreatePicks,
            CancelPicks.TYPE: CancelPicks,
            CreatePack.TYPE: CreatePack,
            CancelPack.TYPE: CancelPack,
            CancelShipment.TYPE: CancelShipment,
        }
        kind = step.compensation if undo else step.command
        if kind == ReleaseInventory.TYPE:
            return ReleaseInventory(order_id=order_id, reason="fulfillment_undone")
        if kind == ReserveInventory.TYPE:
            units = Units(product_id=saga.data["productId"], quantity=int(saga.data["quantity"]))
            return ReserveInventory(
                order_id=order_id, items=[units], account_id=saga.data.get("accountId")
            )
        if kind == ShipOrder.TYPE:
            return ShipOrder(order_id=order_id, carrier=saga.data.get("carrier") or rules.carrier)
        assert kind is not None
        return kinds[kind](order_id=order_id)

    return command


async def _settled(tx: Tx, saga: Saga) -> None:
    """Done, or undone: nothing is waiting for an operator any more."""
    await tx.execute(store.SETTLE_ESCALATIONS, {"order_id": saga.data["orderId"]})


# why a released backorder is open again, from the answer that failed its saga
_REASONS = {InventoryInsufficient.TYPE: "insufficient_stock"}


async def _backorder_reopened(tx: Tx, saga: Saga) -> None:
    """A released backorder that did not ship waits for stock again (inventory had none
    for it, say), its shipment cancelled until then; or, its order cancelled, it is
    cancelled. Its reservation, picks and packing were undone."""
    await _settled(tx, saga)
    backorder_id = saga.data["backorderId"]
    part = await tx.fetch_one(store.OF_BACKORDER, {"backorder_id": backorder_id})
    if part is not None:
        params = {
            "id": part["id"],
            "status": ShipmentStatus.CANCELLED.value,
            "expected": ShipmentStatus.PENDING_SHIPMENT.value,
            "at": utcnow(),
        }
        await tx.execute(store.MOVE_SHIPMENT, params)
    backorder = await tx.fetch_one(store.GET_BACKORDER, {"id": backorder_id})
    if backorder is None:
        return
    failed = saga.failed_step()
    if failed is not None and (failed["detail"] or {}).get("event") == OrderCancelled.TYPE:
        await cancelled(tx, backorder, BackorderStatus.RELEASED, "order_cancelled")
        return
    params = {
        "id": backorder_id,
        "status": BackorderStatus.OPEN.value,
        "expected": BackorderStatus.RELEASED.value,
        "reason": _REASONS.get(saga.reason or "", saga.reason),
        "at": utcnow(),
    }
    await tx.execute(store.MOVE_BACKORDER, params)


async def _on_step(
    tx: Tx, saga: Saga, step: Step, status: StepStatus, message: Envelope | None
) -> None:
    order_id = saga.data["orderId"]
    if status is StepStatus.ESCALATED:
        times = int(saga.row(saga.step)["detail"]["escalations"])
        params = {"order_id": order_id, "step": step.name, "times": times, "at": utcnow()}
        await tx.execute(store.ESCALATE, params)
        told = FulfillmentEscalated(order_id=order_id, step=step.name, times=times)
        await emit(tx, new_message(told, source=SOURCE, aggregate_id=order_id))
    elif status is StepStatus.SUCCEEDED:
        await tx.execute(store.SETTLE_ESCALATIONS, {"order_id": order_id})


async def start_backorder(
    tx: Tx, rules: FulfillmentPolicy, fulfillment_id: str, data: dict[str, Any]
) -> None:
    """Start a released backorder's shipment in the caller's transaction: its reservation
    is asked for first."""
    await engine.start(
        tx,
        definitions(rules)[BACKORDER],
        saga_id(fulfillment_id),
        {"orderId": fulfillment_id, **data},
    )


async def start(
    tx: Tx,
    rules: FulfillmentPolicy,
    order_id: str,
    data: dict[str, Any],
    done: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> None:
    """Start the order's fulfillment in the caller's transaction (its stock is held), after
    the steps `done` the caller took itself (validating the order)."""
    await engine.start(
        tx,
        definitions(rules)[KIND],
        saga_id(order_id),
        {"orderId": order_id, **data},
        done,
        taken=1,
    )


async def lock(tx: Tx, order_id: str) -> None:
    """Take the order's fulfillment (its saga's row) as its lock on PostgreSQL, as moving it
    would: a decision made from several of its rows (its waves, pick tasks, packs, shipments)
    is made by one transaction at a time. SQLite has one writer: nothing to lock."""
    if tx.dialect == "postgresql":
        await tx.fetch_one(GET_SAGA_FOR_UPDATE, {"id": saga_id(order_id)})


async def signal(tx: Tx, rules: FulfillmentPolicy, order_id: str, message: Envelope) -> bool:
    """Hand `message` to the order's fulfillment, in the caller's transaction; whether it
    moved it (an order fulfilled elsewhere, or not waiting for that, is not moved)."""
    aimed = msgspec.structs.replace(message, saga_id=saga_id(order_id))
    return await engine.advance(tx, definitions(rules), aimed) is not None
