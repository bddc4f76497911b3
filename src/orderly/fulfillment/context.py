"""How fulfillment plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.fulfillment import api, messages, service, store
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated
from orderly.payments.messages import PaymentCompleted


def wire(settings: Settings) -> Wired:
    return Wired(
        subscriptions=(
            consumer("fulfillment", service.create_shipment_on_order_created, OrderCreated),
            consumer("fulfillment", service.release_on_payment_completed, PaymentCompleted),
            consumer("fulfillment", service.release_on_order_confirmed, OrderConfirmed),
            consumer("fulfillment", service.cancel_on_order_cancelled, OrderCancelled),
        ),
    )


CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
