"""The guarded checkout's saga (seed 003): once the order is created `PENDING` and its
stock checked, the saga reserves the stock and takes the payment; the order is `PLACED`,
or, when the payment fails, its stock is released (the compensation) and it is
`PAYMENT_FAILED`.

An order placed on the breaker's fallback data is marked for re-verification: its saga's
reservation, handled when inventory is back, says whether the stock is really there, and a
shortage cancels the order before any payment is taken.
"""

import functools
from decimal import Decimal
from typing import Any

import structlog

from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReleaseInventory,
    ReserveInventory,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, Message
from orderly.ordering import moves, store
from orderly.ordering.domain import OrderStatus
from orderly.ordering.messages import SOURCE, OrderCreated
from orderly.ordering.policy import OrderingPolicy
from orderly.payments.messages import ChargePayment, PaymentCompleted, PaymentFailed
from orderly.sagas import engine
from orderly.sagas.engine import Definition, Saga, Step
from orderly.storage import Tx

log = structlog.get_logger(__name__)

KIND = "guarded_checkout"
Definitions = dict[str, Definition]


def _command_data(saga: Saga, step: Step, undo: bool) -> Message:
    data = saga.data
    if step.name == "reserve":
        if undo:
            return ReleaseInventory(order_id=data["orderId"], reason="compensation")
        return ReserveInventory(
            order_id=data["orderId"],
            items=[
                Units(product_id=i["product_id"], quantity=i["quantity"]) for i in data["items"]
            ],
            account_id=data.get("accountId"),
            cart_id=data.get("cartId"),
        )
    return ChargePayment(
        order_id=data["orderId"],
        user_id=data["userId"],
        account_id=data.get("accountId"),
        amount=Decimal(data["amount"]),
        currency=data["currency"],
        payment_method=data["paymentMethod"],
    )


async def _placed(tx: Tx, saga: Saga) -> None:
    await moves.move_order(tx, saga.id, OrderStatus.PROCESSING, {"saga": KIND})


@functools.cache
def definitions(policy: OrderingPolicy) -> Definitions:
    """The saga as the deployment's policy times it (and gives a cart back)."""
    timeout, retries = policy.timing.step_timeout, policy.timing.step_retries

    async def failed(tx: Tx, saga: Saga) -> None:
        failed_at = next(s["name"] for s in saga.steps if s["status"] == "failed")
        limits = policy.hold_limits
        if failed_at == "pay":
            status, reason = OrderStatus.PAYMENT_FAILED, "payment_failed"
        else:
            status = OrderStatus.CANCELLED
            reason = "insufficient_inventory" if failed_at == "reserve" else saga.reason or "failed"
        await moves.cancel_after_saga(tx, saga.id, status, reason, limits)

    definition = Definition(
        kind=KIND,
        source=SOURCE,
        steps=(
            Step(
                "reserve",
                command=ReserveInventory.TYPE,
                succeeded=(InventoryReserved.TYPE,),
                failed=(InventoryInsufficient.TYPE,),
                compensation=ReleaseInventory.TYPE,
                compensated=(InventoryReleased.TYPE,),
                timeout=timeout,
                retries=retries,
            ),
            Step(
                "pay",
                command=ChargePayment.TYPE,
                succeeded=(PaymentCompleted.TYPE,),
                failed=(PaymentFailed.TYPE,),
                timeout=timeout,
                retries=retries,
            ),
        ),
        command_data=_command_data,
        on_completed=_placed,
        on_compensated=failed,
    )
    return {KIND: definition}


async def start(tx: Tx, policy: OrderingPolicy, order: OrderCreated, *, fallback: bool) -> None:
    """In the order's transaction: its saga, after the check made before (live, or from
    the fallback's snapshots)."""
    check = {"source": "fallback" if fallback else "inventory"}
    await engine.start(
        tx,
        definitions(policy)[KIND],
        order.order_id,
        _saga_data(order),
        done=(("check", check),),
    )


def _saga_data(order: OrderCreated) -> dict[str, Any]:
    """What the saga keeps to build its commands, from the order as created."""
    return {
        "orderId": order.order_id,
        "userId": order.user_id,
        "accountId": order.account_id,
        "cartId": order.cart_id,
        "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in order.items],
        "amount": str(order.total_amount),
        "currency": order.currency,
        "paymentMethod": order.payment_method,
    }


def _on_fallback(saga: Saga) -> bool:
    """Whether the saga's order was placed on the fallback's snapshots (its local check
    says so): only such an order is re-verified."""
    check = next((s for s in saga.steps if s["name"] == "check"), None)
    return check is not None and (check["detail"] or {}).get("source") == "fallback"


async def advance(tx: Tx, known: Definitions, message: Envelope) -> None:
    """Inventory's and payments' answers move the saga that asked. The reservation's answer
    is also the re-verification of an order placed on fallback data: inventory itself said
    whether the stock is there."""
    saga = await engine.advance(tx, known, message)
    if saga is None:
        return
    if message.type in (InventoryReserved.TYPE, InventoryInsufficient.TYPE) and _on_fallback(saga):
        # a checkout's saga has its order's id
        order = await tx.fetch_one(store.GET_ORDER, {"id": message.saga_id})
        if order is not None and order["reverify"]:
            await tx.execute(store.SET_REVERIFIED, {"id": order["id"], "reverify": False})
            details = {"event": "reverified", "available": message.type == InventoryReserved.TYPE}
            entry = {"order_id": order["id"], "status": order["status"], "details": details}
            await tx.execute(store.INSERT_HISTORY, {**entry, "at": utcnow()})
