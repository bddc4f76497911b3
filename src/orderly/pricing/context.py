"""How pricing plugs into a running Orderly."""

from orderly.catalog.messages import PRODUCT_CREATED, PRODUCT_UPDATED
from orderly.contexts import ContextSpec
from orderly.identity.messages import ACCOUNT_CREATED
from orderly.messaging.routing import Subscription
from orderly.pricing import api, messages, service, store

CONTEXT = ContextSpec(
    name="pricing",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        Subscription(
            consumer="pricing.wac_on_product_created",
            context="pricing",
            types=(PRODUCT_CREATED,),
            handler=service.wac_on_product_created,
        ),
        Subscription(
            consumer="pricing.wac_on_product_updated",
            context="pricing",
            types=(PRODUCT_UPDATED,),
            handler=service.wac_on_product_updated,
        ),
        Subscription(
            consumer="pricing.account_on_account_created",
            context="pricing",
            types=(ACCOUNT_CREATED,),
            handler=service.account_on_account_created,
        ),
    ),
    router=api.router,
    tables=store.metadata,
)
