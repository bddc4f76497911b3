"""How pricing plugs into a running Orderly."""

from orderly.catalog.messages import PRODUCT_CREATED, PRODUCT_UPDATED
from orderly.contexts import ContextSpec, consumer
from orderly.identity.messages import ACCOUNT_CREATED
from orderly.ordering.messages import ORDER_CANCELLED, ORDER_CREATED
from orderly.pricing import api, messages, service, store

CONTEXT = ContextSpec(
    name="pricing",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("pricing", service.wac_on_product_created, PRODUCT_CREATED),
        consumer("pricing", service.wac_on_product_updated, PRODUCT_UPDATED),
        consumer("pricing", service.account_on_account_created, ACCOUNT_CREATED),
        consumer("pricing", service.locks_follow_orders, ORDER_CREATED, ORDER_CANCELLED),
    ),
    workers=(service.wac_announcer,),
    router=api.router,
    tables=store.metadata,
)
