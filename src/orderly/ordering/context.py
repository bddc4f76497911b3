"""How ordering plugs into a running Orderly."""

from orderly.contexts import ContextSpec
from orderly.fulfillment.messages import ORDER_STATUS_UPDATED
from orderly.messaging.routing import Subscription
from orderly.ordering import api, messages, service, store

CONTEXT = ContextSpec(
    name="ordering",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        Subscription(
            consumer="ordering.apply_status_update_on_order_status_updated",
            context="ordering",
            types=(ORDER_STATUS_UPDATED,),
            handler=service.apply_status_update_on_order_status_updated,
        ),
    ),
    router=api.router,
    tables=store.metadata,
)
