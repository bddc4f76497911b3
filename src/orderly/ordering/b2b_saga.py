"""The B2B checkout's saga (seed 000 section 3, and its "Saga Compensation" diagram).

Once a pharmacy's order is written `pending`, the saga takes it through

    [approval] → compliance → hard reserve → final price lock → ERP sales order

and the order is `processing` (seed 000's CONFIRMED, with its sales order number) and
`order.confirmed` goes out. An order above its account's approval threshold first waits
for an approver (`awaiting_approval`); an order compliance holds waits for an analyst
(`on_hold`). When a step fails, the steps that took effect are undone in reverse (the price
lock voided, the stock released, the compliance record voided), the order is `failed`,
`order.failed` goes out, and the checkout is parked as a dead letter (`RetryCheckout`)
that an operator may replay: the saga then runs again, as run n+1, and each step's receiver
makes its effect at most once (the ERP's idempotency key is the order's id). An order an
analyst reports as suspicious is cancelled instead, and never retried.
"""

import functools
from datetime import date
from decimal import Decimal
from typing import Any

from orderly.compliance.messages import (
    CheckCompliance,
    ComplianceHeld,
    ComplianceLine,
    CompliancePassed,
    ComplianceRejected,
    ComplianceVoided,
    CsosSignature,
    VoidCompliance,
)
from orderly.erp.messages import (
    CreateSalesOrder,
    SalesOrderCreated,
    SalesOrderFailed,
    SalesOrderLine,
)
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReleaseInventory,
    ReserveInventory,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.money import from_cents
from orderly.messaging import Envelope, Message, new_message
from orderly.messaging.consumer import dead_letter
from orderly.ordering import moves, queries, store
from orderly.ordering.domain import OrderStatus
from orderly.ordering.messages import (
    SOURCE,
    OrderApproved,
    OrderConfirmed,
    OrderCreated,
    OrderFailed,
    OrderRejected,
    RetryCheckout,
)
from orderly.ordering.policy import OrderingPolicy
from orderly.pricing.messages import (
    LockLine,
    LockPrices,
    PriceLocked,
    PriceLockFailed,
    PriceLockVoided,
    VoidPriceLock,
)
from orderly.sagas import engine
from orderly.sagas.engine import Definition, Saga, Step, StepStatus
from orderly.storage import Tx

KIND = "b2b_checkout"
# the consumer that takes a replayed checkout (ordering's `CheckoutHandlers.retry_checkout`)
RETRY_CONSUMER = "ordering.retry_checkout"
REPORTED = "suspicious_order_reported"

# A failure's stable code, from the answer that ended the step when it names none itself.
_CODES = {
    OrderRejected.TYPE: "approval_rejected",
    InventoryInsufficient.TYPE: "insufficient_stock",
}
# What the pharmacy reads of a failure whose answer did not say it in its own words.
_READABLE = {
    "approval_rejected": "An approver of your account rejected the order.",
    "approve_timed_out": "No approver of your account decided on the order in time.",
    "compliance_timed_out": "Compliance review of the order did not finish in time.",
    "insufficient_stock": "Some products are not in stock in the quantity ordered.",
    "no_licensed_dc": (
        "No distribution centre registered for a controlled line's schedule is licensed to"
        " ship to the order's state."
    ),
    "reserve_timed_out": "The stock could not be reserved in time.",
    "price_changed": "A price changed since the order was placed; review it and order again.",
    "no_price": "A product of the order has no price.",
    "price_timed_out": "The order's prices could not be confirmed in time.",
    "erp_timeout": "The sales order could not be created: the ERP did not answer in time.",
    "erp_error": "The sales order could not be created: the ERP answered with an error.",
    "erp_rejected": "The ERP refused the sales order.",
    "erp_timed_out": "The sales order could not be created in time.",
}


def _needs_approval(data: dict[str, Any]) -> bool:
    return bool(data.get("needsApproval")) and not data.get("approved")


def _current_run(saga: Saga, message: Envelope) -> bool:
    """Answers that name a run must name this one: a late answer to a run replayed since is
    not this run's."""
    run = message.data.get("run")
    return run is None or run == saga.data["run"]


def _held(saga: Saga) -> bool:
    """Whether compliance held the order at some point: only then may it be `on_hold` now
    (a saga started before the flag was kept may have been, too)."""
    return bool(saga.data.get("held", True))


def _command_data(saga: Saga, step: Step, undo: bool) -> Message:
    data = saga.data
    order_id, run = data["orderId"], int(data["run"])
    items = data["items"]
    if step.name == "compliance":
        if undo:
            return VoidCompliance(order_id=order_id, run=run, reason="compensation")
        csos = data.get("csos")
        return CheckCompliance(
            order_id=order_id,
            run=run,
            user_id=data["userId"],
            account_id=data["accountId"],
            order_date=date.fromisoformat(data["orderDate"]),
            ship_to=data["shipTo"],
            items=[
                ComplianceLine(product_id=i["productId"], quantity=i["quantity"]) for i in items
            ],
            csos=(
                None
                if csos is None
                else CsosSignature(order_number=csos["orderNumber"], signature=csos["signature"])
            ),
        )
    if step.name == "reserve":
        if undo:
            return ReleaseInventory(order_id=order_id, reason="compensation")
        return ReserveInventory(
            order_id=order_id,
            items=[Units(product_id=i["productId"], quantity=i["quantity"]) for i in items],
            account_id=data["accountId"],
            cart_id=data.get("cartId"),
            ship_to_state=data["shipTo"].get("state"),
            schedules={i["productId"]: i["schedule"] for i in items if i.get("schedule")},
            run=run,
        )
    if step.name == "price":
        if undo:
            return VoidPriceLock(order_id=order_id, run=run, reason="compensation")
        return LockPrices(
            order_id=order_id,
            run=run,
            account_id=data["accountId"],
            items=[
                LockLine(
                    product_id=i["productId"],
                    quantity=i["quantity"],
                    price=Decimal(i["price"]),
                    price_source=i.get("priceSource"),
                    contract_id=i.get("contractId"),
                    price_effective_date=(
                        date.fromisoformat(i["priceEffectiveDate"])
                        if i.get("priceEffectiveDate")
                        else None
                    ),
                )
                for i in items
            ],
        )
    return CreateSalesOrder(
        order_id=order_id,
        run=run,
        account_id=data["accountId"],
        ship_to=data["shipTo"],
        items=[
            SalesOrderLine(
                product_id=i["productId"], quantity=i["quantity"], price=Decimal(i["price"])
            )
            for i in items
        ],
        total_amount=Decimal(data["totalAmount"]),
        currency=data["currency"],
    )


async def _on_step(
    tx: Tx, saga: Saga, step: Step, status: StepStatus, message: Envelope | None
) -> None:
    """The order shows where its saga waits: for an approver, for a compliance analyst."""
    if step.name == "approve" and status is StepStatus.SENT:
        await moves.move_order(tx, saga.id, OrderStatus.AWAITING_APPROVAL, {"saga": KIND})
    elif step.name == "approve" and status is StepStatus.SUCCEEDED and message is not None:
        saga.data["approved"] = True
        approver = message.data.get("approverId")
        await moves.move_order(tx, saga.id, OrderStatus.PENDING, {"approved_by": approver})
    elif step.name == "compliance" and status is StepStatus.WAITING and message is not None:
        held = message.read(ComplianceHeld)
        details = {"hold_id": held.hold_id, "rule": held.rule, "detail": held.detail}
        saga.data["held"] = True
        await moves.move_order(tx, saga.id, OrderStatus.ON_HOLD, details)
    elif step.name == "compliance" and status is StepStatus.SUCCEEDED and _held(saga):
        saga.data["held"] = False
        order = await queries.order_for(tx, saga.id)
        if order.status is OrderStatus.ON_HOLD:
            await moves.move_order(tx, saga.id, OrderStatus.PENDING, {"released": True})
    elif step.name == "erp" and status is StepStatus.SUCCEEDED and message is not None:
        saga.data["salesOrderNumber"] = message.read(SalesOrderCreated).sales_order_number


async def _confirmed(tx: Tx, saga: Saga) -> None:
    """The ERP has the sales order: the order is confirmed (`order.confirmed`)."""
    number = saga.data["salesOrderNumber"]
    order = await queries.order_for(tx, saga.id)
    await tx.execute(
        store.SET_OUTCOME, {"id": order.id, "sales_order_number": number, "failure": None}
    )
    if not order.may_become(OrderStatus.PROCESSING):
        # cancelled meanwhile: what the saga took is given back again
        await moves.move_order(tx, order.id, OrderStatus.PROCESSING, {})
        return
    assert order.total_cents is not None  # every b2b line is priced
    told = OrderConfirmed(
        order_id=order.id,
        user_id=order.owner_id,
        total_amount=from_cents(order.total_cents),
        currency=saga.data["currency"],
        account_id=order.account_id,
        sales_order_number=number,
        channel=order.channel.value,
    )
    announce = new_message(told, source=SOURCE, aggregate_id=order.id)
    details = {"sales_order_number": number}
    await moves.move(tx, order, OrderStatus.PROCESSING, details, utcnow(), announce=announce)


def _failure(saga: Saga) -> dict[str, Any]:
    row = saga.failed_step() or {"name": "", "detail": {}}
    detail = row["detail"] or {}
    reason = _CODES.get(str(saga.reason), str(saga.reason))
    # compliance words its refusals for the pharmacy; other steps' answers are technical
    readable = _READABLE.get(reason) or detail.get("detail") or reason.replace("_", " ")
    return {"step": row["name"], "reason": reason, "detail": readable}


async def _undone(tx: Tx, saga: Saga, policy: OrderingPolicy) -> None:
    """Every step that took effect is undone: the order failed, and waits for an operator's
    replay; or, reported as suspicious, it is cancelled."""
    failure = _failure(saga)
    order = await queries.order_for(tx, saga.id)
    if failure["reason"] == REPORTED and order.may_become(OrderStatus.CANCELLED):
        await tx.execute(
            store.SET_OUTCOME, {"id": order.id, "sales_order_number": None, "failure": failure}
        )
        await moves.cancel(tx, order, REPORTED, failure, policy.hold_limits)
        return
    if not order.may_become(OrderStatus.FAILED):
        moves.refused(order, OrderStatus.FAILED, "saga")
        return
    await tx.execute(
        store.SET_OUTCOME, {"id": order.id, "sales_order_number": None, "failure": failure}
    )
    told = OrderFailed(
        order_id=order.id,
        user_id=order.owner_id,
        account_id=order.account_id,
        step=failure["step"],
        reason=failure["reason"],
        detail=failure["detail"],
    )
    announce = new_message(told, source=SOURCE, aggregate_id=order.id)
    await moves.move(tx, order, OrderStatus.FAILED, failure, utcnow(), announce=announce)
    retry = RetryCheckout(order_id=order.id, run=int(saga.data["run"]))
    parked = new_message(retry, source=SOURCE, aggregate_id=order.id)
    await dead_letter(tx, RETRY_CONSUMER, parked, 0, f"{failure['step']}: {failure['reason']}")


@functools.cache
def definitions(policy: OrderingPolicy) -> dict[str, Definition]:
    timing = policy.timing
    timeout, retries = timing.step_timeout, timing.step_retries

    async def undone(tx: Tx, saga: Saga) -> None:
        await _undone(tx, saga, policy)

    definition = Definition(
        kind=KIND,
        source=SOURCE,
        steps=(
            Step(
                "approve",
                command=None,
                succeeded=(OrderApproved.TYPE,),
                failed=(OrderRejected.TYPE,),
                timeout=timing.approval_timeout,
                retries=0,
                when=_needs_approval,
            ),
            Step(
                "compliance",
                command=CheckCompliance.TYPE,
                succeeded=(CompliancePassed.TYPE,),
                failed=(ComplianceRejected.TYPE,),
                waiting=(ComplianceHeld.TYPE,),
                wait_timeout=timing.hold_timeout,
                compensation=VoidCompliance.TYPE,
                compensated=(ComplianceVoided.TYPE,),
                timeout=timeout,
                retries=retries,
                undo_on_timeout=True,
            ),
            Step(
                "reserve",
                command=ReserveInventory.TYPE,
                succeeded=(InventoryReserved.TYPE,),
                failed=(InventoryInsufficient.TYPE,),
                compensation=ReleaseInventory.TYPE,
                compensated=(InventoryReleased.TYPE,),
                timeout=timeout,
                retries=retries,
                undo_on_timeout=True,
            ),
            Step(
                "price",
                command=LockPrices.TYPE,
                succeeded=(PriceLocked.TYPE,),
                failed=(PriceLockFailed.TYPE,),
                compensation=VoidPriceLock.TYPE,
                compensated=(PriceLockVoided.TYPE,),
                timeout=timeout,
                retries=retries,
                undo_on_timeout=True,
            ),
            Step(
                "erp",
                command=CreateSalesOrder.TYPE,
                succeeded=(SalesOrderCreated.TYPE,),
                failed=(SalesOrderFailed.TYPE,),
                timeout=timeout,
                retries=retries,
            ),
        ),
        command_data=_command_data,
        on_completed=_confirmed,
        on_compensated=undone,
        on_step=_on_step,
        accepts=_current_run,
    )
    return {KIND: definition}


async def start(
    tx: Tx,
    policy: OrderingPolicy,
    order: OrderCreated,
    *,
    schedules: dict[str, str | None],
    csos: dict[str, str] | None,
    needs_approval: bool,
) -> None:
    """In the order's transaction: its saga, from the order as created."""
    data = {
        "orderId": order.order_id,
        "run": 1,
        "userId": order.user_id,
        "accountId": order.account_id,
        "cartId": order.cart_id,
        "shipTo": order.shipping_address,
        "orderDate": utcnow().date().isoformat(),
        "items": [
            {
                "productId": i.product_id,
                "quantity": i.quantity,
                "price": str(i.price),
                "priceSource": i.price_source,
                "contractId": i.contract_id,
                "priceEffectiveDate": (
                    None if i.price_effective_date is None else i.price_effective_date.isoformat()
                ),
                "schedule": schedules.get(i.product_id),
            }
            for i in order.items
        ],
        "totalAmount": str(order.total_amount),
        "currency": order.currency,
        "csos": csos,
        "needsApproval": needs_approval,
        "approved": False,
        "held": False,
    }
    await engine.start(tx, definitions(policy)[KIND], order.order_id, data)


async def retry(tx: Tx, policy: OrderingPolicy, message: Envelope) -> None:
    """An operator replayed a failed checkout: the order is `pending` again and its saga runs
    again as the next run. A checkout no longer failed (replayed already, or cancelled since)
    is left as it is."""
    parked = message.read(RetryCheckout)
    order = await queries.order_for(tx, parked.order_id)
    if order.status is not OrderStatus.FAILED:
        moves.refused(order, OrderStatus.PENDING, "replay")
        return
    await moves.move(tx, order, OrderStatus.PENDING, {"replayed": parked.run + 1}, utcnow())
    await tx.execute(
        store.SET_OUTCOME, {"id": order.id, "sales_order_number": None, "failure": None}
    )
    definition = definitions(policy)[KIND]
    await engine.restart(tx, definition, order.id, {"run": parked.run + 1})
