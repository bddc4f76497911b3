"""How pricing plugs into a running Orderly."""

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.identity.messages import AccountCreated
from orderly.ordering.messages import OrderCancelled, OrderCreated
from orderly.pricing import api, messages, service, store


def wire(settings: Settings) -> Wired:
    return Wired(
        subscriptions=(
            consumer("pricing", service.wac_on_product_created, ProductCreated),
            consumer("pricing", service.wac_on_product_updated, ProductUpdated),
            consumer("pricing", service.account_on_account_created, AccountCreated),
            consumer("pricing", service.locks_follow_orders, OrderCreated, OrderCancelled),
        ),
        workers=(service.wac_announcer,),
    )


CONTEXT = ContextSpec(
    name="pricing",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
