"""How inventory plugs into a running Orderly."""

from orderly.catalog.messages import ProductCreated
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.identity.messages import AccountCreated
from orderly.inventory import api, messages, provisional, service, store
from orderly.inventory.messages import ReleaseInventory, ReserveInventory
from orderly.ordering.messages import (
    CartItemAdded,
    CartItemRemoved,
    OrderCancelled,
    OrderCreated,
)


def configure(settings: Settings) -> None:
    service.configure(settings)
    provisional.configure(settings)


def wire(settings: "Settings") -> Wired:
    configure(settings)
    return Wired(
        subscriptions=(
            consumer("inventory", service.add_item_on_product_created, ProductCreated),
            consumer("inventory", provisional.reserve_on_order_created, OrderCreated),
            consumer("inventory", service.hold_on_cart_item_added, CartItemAdded),
            consumer("inventory", service.let_go_on_cart_item_removed, CartItemRemoved),
            consumer("inventory", service.release_on_order_cancelled, OrderCancelled),
            consumer("inventory", service.reserve_on_command, ReserveInventory),
            consumer("inventory", service.release_on_command, ReleaseInventory),
            consumer("inventory", service.pick_on_order_shipped, OrderStatusUpdated),
            consumer("inventory", service.account_on_account_created, AccountCreated),
        ),
        workers=(service.sweeper, provisional.sweeper),
    )


CONTEXT = ContextSpec(
    name="inventory",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
