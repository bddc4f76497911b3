"""How ordering plugs into a running Orderly."""

from typing import TYPE_CHECKING

from orderly.catalog.messages import PRODUCT_CREATED, PRODUCT_UPDATED
from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment.messages import ORDER_STATUS_UPDATED
from orderly.inventory.messages import (
    INVENTORY_INSUFFICIENT,
    INVENTORY_RELEASED,
    INVENTORY_RESERVED,
)
from orderly.ordering import api, carts, guarded, messages, service, store
from orderly.payments.messages import PAYMENT_COMPLETED, PAYMENT_FAILED, REFUND_CREATED

if TYPE_CHECKING:
    from orderly.config import Settings


def configure(settings: "Settings") -> None:
    """The checkout flows' settings, and how much a cart may hold."""
    service.configure(settings)
    carts.configure(settings)


CONTEXT = ContextSpec(
    name="ordering",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer(
            "ordering", service.apply_status_update_on_order_status_updated, ORDER_STATUS_UPDATED
        ),
        consumer("ordering", service.on_inventory_reserved, INVENTORY_RESERVED),
        consumer("ordering", service.on_inventory_insufficient, INVENTORY_INSUFFICIENT),
        consumer("ordering", service.on_payment_completed, PAYMENT_COMPLETED),
        consumer("ordering", service.on_payment_failed, PAYMENT_FAILED),
        consumer("ordering", service.note_refund_on_refund_created, REFUND_CREATED),
        consumer("ordering", service.copy_product_on_product_created, PRODUCT_CREATED),
        consumer("ordering", service.copy_product_on_product_updated, PRODUCT_UPDATED),
        # the saga's other answers come through the handlers above
        consumer("ordering", guarded.advance_saga_on_reply, INVENTORY_RELEASED),
    ),
    workers=(guarded.saga_timer, service.key_keeper),
    router=api.router,
    tables=store.metadata,
    configure=configure,
)
