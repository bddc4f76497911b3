"""How catalog plugs into a running Orderly."""

from orderly.catalog import api, messages, service, store
from orderly.contexts import ContextSpec
from orderly.messaging.routing import Subscription
from orderly.ordering.messages import ORDER_CREATED

CONTEXT = ContextSpec(
    name="catalog",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        Subscription(
            consumer="catalog.allocate_stock_on_order_created",
            context="catalog",
            types=(ORDER_CREATED,),
            handler=service.allocate_stock_on_order_created,
        ),
    ),
    router=api.router,
    tables=store.metadata,
)
