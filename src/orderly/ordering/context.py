"""How ordering plugs into a running Orderly."""

from typing import TYPE_CHECKING

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
)
from orderly.ordering import api, carts, guarded, messages, service, store
from orderly.payments.messages import PaymentCompleted, PaymentFailed, RefundCreated

if TYPE_CHECKING:
    from orderly.config import Settings


def configure(settings: "Settings") -> None:
    """The checkout flows' settings, and how much a cart may hold."""
    service.configure(settings)
    carts.configure(settings)


def wire(settings: "Settings") -> Wired:
    configure(settings)
    return Wired(
        subscriptions=(
            consumer(
                "ordering", service.apply_status_update_on_order_status_updated, OrderStatusUpdated
            ),
            consumer("ordering", service.on_inventory_reserved, InventoryReserved),
            consumer("ordering", service.on_inventory_insufficient, InventoryInsufficient),
            consumer("ordering", service.on_payment_completed, PaymentCompleted),
            consumer("ordering", service.on_payment_failed, PaymentFailed),
            consumer("ordering", service.note_refund_on_refund_created, RefundCreated),
            consumer("ordering", service.copy_product_on_product_created, ProductCreated),
            consumer("ordering", service.copy_product_on_product_updated, ProductUpdated),
            # the saga's other answers come through the handlers above
            consumer("ordering", guarded.advance_saga_on_reply, InventoryReleased),
        ),
        workers=(guarded.saga_timer, service.key_keeper),
    )


CONTEXT = ContextSpec(
    name="ordering",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
