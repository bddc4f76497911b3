"""How fulfillment plugs into a running Orderly."""

from functools import partial

from orderly.catalog.messages import ProductCreated
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.fulfillment import api, floor, messages, orchestrator, service, store, wms
from orderly.fulfillment.handlers import FulfillmentHandlers, replies_to_fulfillment
from orderly.fulfillment.messages import (
    CancelPack,
    CancelPicks,
    CancelShipment,
    CreatePack,
    CreatePicks,
    PackCancelled,
    PickCancelled,
    ShipmentCancelled,
    ShipOrder,
)
from orderly.fulfillment.policy import policy
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReceived,
    InventoryReleased,
    InventoryReserved,
)
from orderly.kernel.aio import drain, every
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated
from orderly.payments.messages import PaymentCompleted
from orderly.sagas import engine
from orderly.storage import Database


def wire(settings: Settings) -> Wired:
    rules = policy(settings)
    ours = FulfillmentHandlers(rules)
    known = orchestrator.definitions(rules)

    async def fulfillment_timer(db: Database, interval: float) -> None:
        """Waits past their deadline are escalated (or fail), waves due are released; every
        `interval` seconds, more often for short waits."""

        async def upkeep() -> None:
            await drain(partial(engine.expire_overdue, db, known), 200)
            await floor.release_due(db, rules, settings.wave_release_lead)

        shortest = min(rules.floor_wait, rules.ship_wait)
        await every(min(interval, max(shortest / 4, 0.05)), upkeep, "fulfillment upkeep failed")

    return Wired(
        subscriptions=(
            consumer("fulfillment", service.create_shipment_on_order_created, OrderCreated),
            consumer("fulfillment", ours.release_on_payment_completed, PaymentCompleted),
            consumer(
                "fulfillment",
                ours.release_on_order_confirmed,
                OrderConfirmed,
                concerns=service.fulfilled_here,
            ),
            consumer("fulfillment", ours.cancel_on_order_cancelled, OrderCancelled),
            consumer("fulfillment", floor.copy_product, ProductCreated),
            consumer("fulfillment", ours.allocation_on_inventory_reserved, InventoryReserved),
            consumer("fulfillment", ours.release_on_inventory_received, InventoryReceived),
            consumer("fulfillment", ours.create_picks_on_command, CreatePicks),
            consumer("fulfillment", ours.cancel_picks_on_command, CancelPicks),
            consumer("fulfillment", ours.create_pack_on_command, CreatePack),
            consumer("fulfillment", floor.cancel_pack_on_command, CancelPack),
            consumer("fulfillment", ours.ship_on_command, ShipOrder),
            consumer("fulfillment", service.cancel_shipment_on_command, CancelShipment),
            consumer(
                "fulfillment",
                ours.advance_on_reply,
                InventoryReleased,
                InventoryInsufficient,
                PickCancelled,
                PackCancelled,
                ShipmentCancelled,
                concerns=replies_to_fulfillment,
            ),
        ),
        workers=(fulfillment_timer, wms.wms_caller(rules))
        if rules.external
        else (fulfillment_timer,),
    )


CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
    guards_own_routes=True,
)
