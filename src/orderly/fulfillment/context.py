"""How fulfillment plugs into a running Orderly."""

from orderly.contexts import ContextSpec
from orderly.fulfillment import api, messages, service, store
from orderly.messaging.routing import Subscription
from orderly.ordering.messages import ORDER_CREATED

CONTEXT = ContextSpec(
    name="fulfillment",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        Subscription(
            consumer="fulfillment.create_shipment_on_order_created",
            context="fulfillment",
            types=(ORDER_CREATED,),
            handler=service.create_shipment_on_order_created,
        ),
    ),
    router=api.router,
    tables=store.metadata,
)
