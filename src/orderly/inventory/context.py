"""How inventory plugs into a running Orderly."""

from orderly.catalog.messages import PRODUCT_CREATED
from orderly.contexts import ContextSpec
from orderly.fulfillment.messages import ORDER_STATUS_UPDATED
from orderly.inventory import api, messages, service, store
from orderly.messaging.routing import Subscription
from orderly.ordering.messages import ORDER_CREATED

CONTEXT = ContextSpec(
    name="inventory",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        Subscription(
            consumer="inventory.add_item_on_product_created",
            context="inventory",
            types=(PRODUCT_CREATED,),
            handler=service.add_item_on_product_created,
        ),
        Subscription(
            consumer="inventory.reserve_on_order_created",
            context="inventory",
            types=(ORDER_CREATED,),
            handler=service.reserve_on_order_created,
        ),
        Subscription(
            consumer="inventory.pick_on_order_shipped",
            context="inventory",
            types=(ORDER_STATUS_UPDATED,),
            handler=service.pick_on_order_shipped,
        ),
    ),
    router=api.router,
    tables=store.metadata,
    workers=(service.sweeper,),
)
