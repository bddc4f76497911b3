"""The messages pricing follows: catalog's list prices, identity's accounts, ordering's
orders. Each reads its message and calls the job."""

from decimal import Decimal

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.identity.messages import AccountCreated
from orderly.messaging import Envelope
from orderly.ordering.messages import OrderCancelled, OrderCreated
from orderly.pricing import locks, prices
from orderly.storage import Tx


async def wac_on_product_created(tx: Tx, message: Envelope) -> None:
    """A new product's price is its WAC from today (a product may come without one)."""
    product = message.read(ProductCreated)
    if product.price is not None:
        await prices.set_catalog_wac(tx, product.product_id, product.price)


async def wac_on_product_updated(tx: Tx, message: Envelope) -> None:
    changed = message.read(ProductUpdated)
    if isinstance(changed.price, Decimal):
        await prices.set_catalog_wac(tx, changed.product_id, changed.price)


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    account = message.read(AccountCreated)
    await prices.copy_account(tx, account.account_id, account.segment, account.id340b is not None)


def follows(message: Envelope) -> bool:
    """Whether `locks_follow_orders` does anything with `message`: not with a B2B order's
    `order.created`, whose checkout's saga asks for the final price itself."""
    return message.type != OrderCreated.TYPE or not locks.locked_by_saga(message.read(OrderCreated))


async def locks_follow_orders(tx: Tx, message: Envelope) -> None:
    """`order.created` locks the order's prices; `order.cancelled` voids them. Both come
    through one queue, in the order they were published."""
    if message.type == OrderCancelled.TYPE:
        await locks.void_locks(tx, message.read(OrderCancelled).order_id)
    else:
        await locks.lock_order(tx, message.read(OrderCreated))
