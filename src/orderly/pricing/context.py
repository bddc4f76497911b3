"""How pricing plugs into a running Orderly."""

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.identity.messages import AccountCreated
from orderly.ordering.messages import OrderCancelled, OrderCreated
from orderly.pricing import api, final, handlers, messages, prices, store
from orderly.pricing.messages import LockPrices, VoidPriceLock


def wire(settings: Settings) -> Wired:
    return Wired(
        subscriptions=(
            consumer("pricing", handlers.wac_on_product_created, ProductCreated),
            consumer("pricing", handlers.wac_on_product_updated, ProductUpdated),
            consumer("pricing", handlers.account_on_account_created, AccountCreated),
            consumer(
                "pricing",
                handlers.locks_follow_orders,
                OrderCreated,
                OrderCancelled,
                concerns=handlers.follows,
            ),
            # the B2B checkout saga's final price, and its compensation
            consumer("pricing", final.lock_on_command, LockPrices),
            consumer("pricing", final.void_on_command, VoidPriceLock),
        ),
        workers=(prices.wac_announcer,),
    )


CONTEXT = ContextSpec(
    name="pricing",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
