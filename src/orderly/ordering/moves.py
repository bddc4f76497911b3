"""Status changes: an order moved on by a message or a saga, and cancelled.

Every change goes through the state machine in `domain` and is appended to the order's
history; a move the machine does not allow is refused and logged."""

from datetime import datetime
from typing import Any

import structlog

from orderly.kernel.clock import utcnow
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, emit, new_message
from orderly.observability import ORDERS_MOVED
from orderly.ordering import carts, queries, store
from orderly.ordering.domain import InvalidTransition, Order, OrderStatus
from orderly.ordering.messages import SOURCE, CancelledLine, OrderCancelled
from orderly.ordering.policy import HoldLimits
from orderly.storage import Database, Tx

log = structlog.get_logger(__name__)


async def move(
    tx: Tx,
    order: Order,
    wanted: OrderStatus,
    details: dict[str, Any],
    now: datetime,
    announce: Envelope | None = None,
) -> None:
    """Move `order` to `wanted` (the machine must allow it), append it to its history and
    publish `announce` with it."""
    order.becoming(wanted)
    if not await store.move(tx, order.id, order.version, wanted.value, details, now, announce):
        # the handler's transaction is undone and the message tried again
        raise RuntimeError(f"order {order.id} changed concurrently; retrying")
    counted(tx, order.channel.value, wanted)


def counted(tx: Tx, channel: str, status: OrderStatus) -> None:
    """`orderly_orders_moved_total` counts the move once `tx` commits (once, however often
    its work runs)."""
    tx.after_commit(ORDERS_MOVED.labels(channel, status.value).inc)


def refused(order: Order, wanted: OrderStatus, cause: str) -> None:
    log.warning(
        "order transition refused",
        order_id=order.id,
        current=order.status.value,
        wanted=wanted.value,
        cause=cause,
    )


async def cancel(
    tx: Tx, order: Order, reason: str, details: dict[str, Any], limits: HoldLimits
) -> None:
    """Cancel `order` and publish `order.cancelled`: its stock goes back, its payment is
    voided or refunded, and an unpaid order's cart comes back."""
    await move(tx, order, OrderStatus.CANCELLED, {"reason": reason, **details}, utcnow())
    await announce_cancellation(tx, order, reason)
    await _give_cart_back(tx, order, limits)


async def _give_cart_back(tx: Tx, order: Order, limits: HoldLimits) -> None:
    """A cart is spent once its order is paid (or, direct, accepted): an order cancelled
    before that (`order`, as it was) gives its customer the cart back."""
    if order.cart_id and order.unpaid:
        await carts.restore(tx, order.cart_id, order.id, limits)


async def announce_cancellation(tx: Tx, order: Order, reason: str) -> None:
    items = await tx.fetch_all(store.GET_ITEMS, {"id": order.id})
    cancelled = OrderCancelled(
        order_id=order.id,
        user_id=order.owner_id,
        items=[
            CancelledLine(product_id=i["product_id"], quantity=int(i["quantity"])) for i in items
        ],
        reason=reason,
    )
    await emit(tx, new_message(cancelled, source=SOURCE, aggregate_id=order.id))


async def move_order(tx: Tx, order_id: str, wanted: OrderStatus, details: dict[str, Any]) -> None:
    """A saga moved the order on. If the customer cancelled it meanwhile, the move is
    refused and the cancellation announced again, so what the saga took (stock, payment)
    is given back."""
    order = await queries.order_for(tx, order_id)
    if order.may_become(wanted):
        await move(tx, order, wanted, details, utcnow())
        return
    refused(order, wanted, "saga")
    if order.status is OrderStatus.CANCELLED:
        await announce_cancellation(tx, order, "cancelled")


async def cancel_after_saga(
    tx: Tx, order_id: str, status: OrderStatus, reason: str, limits: HoldLimits
) -> None:
    """A saga failed and undid what it had done: the order ends `status`, and
    `order.cancelled` tells payments and fulfillment. An order cancelled meanwhile stays so."""
    order = await queries.order_for(tx, order_id)
    if not order.may_become(status):
        refused(order, status, "saga")
        return
    await move(tx, order, status, {"reason": reason}, utcnow())
    await announce_cancellation(tx, order, reason)
    await _give_cart_back(tx, order, limits)


async def cancel_order(
    db: Database,
    caller: Principal,
    order_id: str,
    reason: str = "customer",
    *,
    limits: HoldLimits,
) -> dict[str, Any]:
    """The customer (or an operator) cancels before shipment. Cancelling a cancelled order
    again changes nothing; a shipped one cannot be cancelled (409)."""

    async def work(tx: Tx) -> dict[str, Any]:
        order = Order.of(await queries.visible(tx, caller, order_id))
        if order.status is not OrderStatus.CANCELLED:
            if not order.cancellable:
                # shipped; or held by compliance, whose analyst alone decides on it
                refused(order, OrderStatus.CANCELLED, "cancel request")
                raise InvalidTransition(
                    f"a {order.word} order cannot be cancelled", order_status=order.word
                )
            await cancel(tx, order, reason, {"by": caller.user_id}, limits)
        fresh = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
        assert fresh is not None
        return await queries.view(tx, fresh)

    return await db.transaction(work)
