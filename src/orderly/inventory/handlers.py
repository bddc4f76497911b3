"""Inventory's message handlers: each reads its message and calls the job it asks for.

The consumers (and their queues) are named after the handlers: keep the names.
"""

import contextlib
from dataclasses import dataclass

import structlog

from orderly.catalog.messages import ProductCreated
from orderly.fulfillment.messages import OrderStatusUpdated, PickCancelled, PickCompleted
from orderly.identity.messages import AccountCreated
from orderly.inventory import accounts, holds, provisional, reservations, stock
from orderly.inventory.errors import ProductNotFound
from orderly.inventory.messages import ReleaseInventory, ReserveInventory
from orderly.inventory.policy import InventoryPolicy
from orderly.messaging import Envelope, emit
from orderly.ordering.messages import CartItemAdded, CartItemRemoved, OrderCancelled, OrderCreated
from orderly.storage import Tx

log = structlog.get_logger(__name__)


async def add_item_on_product_created(tx: Tx, message: Envelope) -> None:
    """Catalog made a product: inventory knows it from now on (if catalog did not tell it
    before it answered, `stock.add_item`)."""
    product = message.read(ProductCreated)
    await stock.add_item_in(tx, product.product_id, product.sku, product.initial_stock)


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    """Identity opened a B2B account: inventory may keep its shelf life from now on."""
    await accounts.add_account(tx, message.read(AccountCreated).account_id)


def reserves_itself(message: Envelope) -> bool:
    """Whether inventory reserves a new order on its `order.created`: not an orchestrated
    one, whose saga asks (`concerns` of `reserve_on_order_created`)."""
    return not message.read(OrderCreated).orchestrated


async def reserve_on_order_created(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 2: reserve every item of a new order, or report it short. A direct
    order's stock is held already: its hold is confirmed (or, had it run out, made again).
    An orchestrated order's saga asks for its reservation itself (`inventory.reserve`)."""
    order = message.read(OrderCreated)
    if order.orchestrated:
        return
    if order.held and await provisional.confirm(tx, order.order_id):
        return
    await _reserve(tx, order)


async def reserve_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `inventory.reserve`: the same reservation, answered to the saga; a
    controlled line only from a DC licensed for it and for the ship-to state."""
    command = message.read(ReserveInventory)
    controlled = reservations.Controlled(command.schedules, command.ship_to_state)
    await _reserve(tx, command, message, controlled, run=command.run)


async def _reserve(
    tx: Tx,
    order: OrderCreated | ReserveInventory,
    command: Envelope | None = None,
    controlled: reservations.Controlled | None = None,
    *,
    run: int = 0,
) -> None:
    await reservations.reserve_and_answer(
        tx,
        order.order_id,
        [(item.product_id, item.quantity) for item in order.items],
        account_id=order.account_id,
        cart_id=order.cart_id,
        command=command,
        controlled=controlled,
        run=run,
    )


async def release_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `inventory.release` (a compensation); answered even when nothing was held."""
    command = message.read(ReleaseInventory)
    order_id = command.order_id
    if not await reservations.release(tx, order_id, command.reason or "compensation", message):
        await emit(tx, reservations.released_told(order_id, "nothing_held", [], message))


async def release_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """Seed 002: a cancelled order's stock goes back (`inventory.released`)."""
    await reservations.release(tx, message.read(OrderCancelled).order_id, "cancelled")


async def pick_on_pick_completed(tx: Tx, message: Envelope) -> None:
    """Seed 004: the warehouse picked the order (`pick.completed`): its units left their
    shelves. Units a short pick did not find are gone too: the shelf held fewer than
    counted."""
    await reservations.pick(tx, message.read(PickCompleted).order_id)


async def restock_on_pick_cancelled(tx: Tx, message: Envelope) -> None:
    """An order's picks were undone before it shipped: its units are back on the shelves,
    but for those a short pick did not find."""
    cancelled = message.read(PickCancelled)
    short = {(lot.product_id, lot.lot): lot.short for lot in cancelled.lots if lot.short}
    await reservations.unpick(tx, cancelled.order_id, short)


async def pick_on_order_shipped(tx: Tx, message: Envelope) -> None:
    """A shipped order is a picked one, if the warehouse did not report its picks (an order
    shipped by an operator's word alone)."""
    update = message.read(OrderStatusUpdated)
    if update.current_status == "SHIPPED":
        await reservations.pick(tx, update.order_id)


async def let_go_on_cart_item_removed(tx: Tx, message: Envelope) -> None:
    """The line left the cart: its hold goes."""
    line = message.read(CartItemRemoved)
    with contextlib.suppress(ProductNotFound):
        await holds.let_go(tx, line.cart_id, line.product_id)


@dataclass(frozen=True)
class CartHolds:
    """The handlers that hold stock for carts, for as long as the deployment's policy says."""

    policy: InventoryPolicy

    async def hold_on_cart_item_added(self, tx: Tx, message: Envelope) -> None:
        """Seed 000: a cart line holds its units for a while (a soft reservation), as many as
        ordering says the customer may hold (`hold`). A product inventory does not stock, or
        not enough of it, holds nothing: the cart shows ATP."""
        line = message.read(CartItemAdded)
        hold = max(0, min(line.quantity, line.hold))
        holder = holds.Holder(line.customer_id, line.account_id)
        try:
            held = await holds.soft_reserve(
                tx, line.cart_id, line.product_id, hold, self.policy, holder=holder
            )
        except ProductNotFound:
            held = False
        if not held:
            log.info("cart line not held", cart=line.cart_id, product=line.product_id)
