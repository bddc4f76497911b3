"""How inventory plugs into a running Orderly."""

from orderly.catalog.messages import PRODUCT_CREATED
from orderly.config import Settings
from orderly.contexts import ContextSpec, consumer
from orderly.fulfillment.messages import ORDER_STATUS_UPDATED
from orderly.identity.messages import ACCOUNT_CREATED
from orderly.inventory import api, messages, provisional, service, store
from orderly.inventory.messages import INVENTORY_RELEASE, INVENTORY_RESERVE
from orderly.ordering.messages import (
    CART_ITEM_ADDED,
    CART_ITEM_REMOVED,
    ORDER_CANCELLED,
    ORDER_CREATED,
)


def configure(settings: Settings) -> None:
    service.configure(settings)
    provisional.configure(settings)


CONTEXT = ContextSpec(
    name="inventory",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("inventory", service.add_item_on_product_created, PRODUCT_CREATED),
        consumer("inventory", provisional.reserve_on_order_created, ORDER_CREATED),
        consumer("inventory", service.hold_on_cart_item_added, CART_ITEM_ADDED),
        consumer("inventory", service.let_go_on_cart_item_removed, CART_ITEM_REMOVED),
        consumer("inventory", service.release_on_order_cancelled, ORDER_CANCELLED),
        consumer("inventory", service.reserve_on_command, INVENTORY_RESERVE),
        consumer("inventory", service.release_on_command, INVENTORY_RELEASE),
        consumer("inventory", service.pick_on_order_shipped, ORDER_STATUS_UPDATED),
        consumer("inventory", service.account_on_account_created, ACCOUNT_CREATED),
    ),
    router=api.router,
    tables=store.metadata,
    workers=(service.sweeper, provisional.sweeper),
    configure=configure,
)
