"""How fulfillment plugs into a running Orderly."""

from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment import api, messages, service, store
from orderly.ordering.messages import ORDER_CANCELLED, ORDER_CREATED
from orderly.payments.messages import PAYMENT_COMPLETED

CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("fulfillment", service.create_shipment_on_order_created, ORDER_CREATED),
        consumer("fulfillment", service.release_on_payment_completed, PAYMENT_COMPLETED),
        consumer("fulfillment", service.cancel_on_order_cancelled, ORDER_CANCELLED),
    ),
    router=api.router,
    tables=store.metadata,
)
