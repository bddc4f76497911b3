"""How ordering plugs into a running Orderly."""

from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment.messages import ORDER_STATUS_UPDATED
from orderly.ordering import api, messages, service, store

CONTEXT = ContextSpec(
    name="ordering",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer(
            "ordering", service.apply_status_update_on_order_status_updated, ORDER_STATUS_UPDATED
        ),
    ),
    router=api.router,
    tables=store.metadata,
)
