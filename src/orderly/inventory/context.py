"""How inventory plugs into a running Orderly."""

from orderly.catalog.messages import ProductCreated
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.fulfillment.messages import OrderStatusUpdated, PickCancelled, PickCompleted
from orderly.identity.messages import AccountCreated
from orderly.inventory import api, handlers, messages, store, sweepers
from orderly.inventory.messages import ReleaseInventory, ReserveInventory
from orderly.inventory.policy import policy
from orderly.ordering.messages import (
    CartItemAdded,
    CartItemRemoved,
    OrderCancelled,
    OrderCreated,
)


def wire(settings: Settings) -> Wired:
    cart_holds = handlers.CartHolds(policy(settings))
    return Wired(
        subscriptions=(
            consumer("inventory", handlers.add_item_on_product_created, ProductCreated),
            consumer(
                "inventory",
                handlers.reserve_on_order_created,
                OrderCreated,
                concerns=handlers.reserves_itself,
            ),
            consumer("inventory", cart_holds.hold_on_cart_item_added, CartItemAdded),
            consumer("inventory", handlers.let_go_on_cart_item_removed, CartItemRemoved),
            consumer("inventory", handlers.release_on_order_cancelled, OrderCancelled),
            consumer("inventory", handlers.reserve_on_command, ReserveInventory),
            consumer("inventory", handlers.release_on_command, ReleaseInventory),
            consumer("inventory", handlers.pick_on_order_shipped, OrderStatusUpdated),
            consumer("inventory", handlers.pick_on_pick_completed, PickCompleted),
            consumer("inventory", handlers.restock_on_pick_cancelled, PickCancelled),
            consumer("inventory", handlers.account_on_account_created, AccountCreated),
        ),
        workers=(sweepers.cart_hold_sweeper, sweepers.order_hold_sweeper),
    )


CONTEXT = ContextSpec(
    name="inventory",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
