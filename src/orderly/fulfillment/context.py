"""How fulfillment plugs into a running Orderly."""

from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment import api, messages, service, store
from orderly.ordering.messages import ORDER_CREATED

CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("fulfillment", service.create_shipment_on_order_created, ORDER_CREATED),
    ),
    router=api.router,
    tables=store.metadata,
)
