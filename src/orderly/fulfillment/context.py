"""How fulfillment plugs into a running Orderly."""

from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment import api, messages, service, store
from orderly.ordering.messages import OrderCancelled, OrderCreated
from orderly.payments.messages import PaymentCompleted

CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("fulfillment", service.create_shipment_on_order_created, OrderCreated),
        consumer("fulfillment", service.release_on_payment_completed, PaymentCompleted),
        consumer("fulfillment", service.cancel_on_order_cancelled, OrderCancelled),
    ),
    router=api.router,
    tables=store.metadata,
)
