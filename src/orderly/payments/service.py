"""Payments: saved payment methods, and the payment of each order (seed 002 step 4).

A payment is written and charged (authorised, then captured) when its order is confirmed
(`order.confirmed`, which carries the payment method), and `payment.completed` or
`payment.failed` says how that went. When the order is cancelled (`order.cancelled`) a
captured payment is refunded (`refund.created`); one not yet taken never will be. Each
gateway call's idempotency key is the payment's id and the step, so a handler tried again
never charges or refunds twice.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, money, to_cents
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, Message, answering, emit, emit_along, new_message
from orderly.ordering.messages import OrderCancelled, OrderConfirmed
from orderly.payments import domain, store
from orderly.payments.domain import PaymentStatus
from orderly.payments.gateway import GatewayError, GatewayTimeout, PaymentGateway, SimulatedGateway
from orderly.payments.messages import (
    SOURCE,
    ChargePayment,
    PaymentCompleted,
    PaymentFailed,
    RefundCreated,
)
from orderly.storage import Database, Row, Tx

if TYPE_CHECKING:
    from orderly.config import Settings

log = structlog.get_logger(__name__)

GATEWAY: PaymentGateway = SimulatedGateway()


def configure(settings: "Settings") -> None:
    """Each process starts with a gateway of its own (the simulated one)."""
    global GATEWAY
    GATEWAY = SimulatedGateway()


class PaymentMethodNotFound(NotFound):
    code = "payment_method_not_found"
    title = "Payment method not found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "Payment not found"


# -- payment methods ------------------------------------------------------------------------


def _method_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": "card_token",
        "label": row["label"],
        "token_hint": domain.hint(row["token"]),
        "created_at": row["created_at"],
    }


async def add_method(db: Database, caller: Principal, token: str, label: str) -> dict[str, Any]:
    domain.check_token(token)
    method_id = f"pm_{new_id()}"

    async def work(tx: Tx) -> Row:
        params = {"id": method_id, "owner_id": caller.user_id, "token": token, "label": label}
        await tx.execute(store.INSERT_METHOD, {**params, "at": utcnow()})
        row = await tx.fetch_one(store.GET_METHOD, {"id": method_id})
        assert row is not None
        return row

    return _method_view(await db.transaction(work))


async def get_method(db: Database, caller: Principal, method_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_METHOD, {"id": method_id}))
    if row is None or not caller.may_see(row["owner_id"], None):
        raise PaymentMethodNotFound(f"payment method {method_id} does not exist")
    return _method_view(row)


async def list_methods(db: Database, caller: Principal) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.OWN_METHODS, {"owner_id": caller.user_id}))
    return [_method_view(row) for row in rows]


async def delete_method(db: Database, caller: Principal, method_id: str) -> None:
    deleted = await db.transaction(
        lambda tx: tx.execute(store.DELETE_METHOD, {"id": method_id, "owner_id": caller.user_id})
    )
    if not deleted:
        raise PaymentMethodNotFound(f"payment method {method_id} does not exist")


# -- payments -------------------------------------------------------------------------------


def _payment_view(row: Row, refunds: list[Row]) -> dict[str, Any]:
    return {
        "payment_id": row["id"],
        "order_id": row["order_id"],
        "amount": money(row["amount_cents"]),
        "currency": row["currency"],
        "status": row["status"],
        "reason": row["reason"],
        "refunds": [
            {"refund_id": r["id"], "amount": money(r["amount_cents"]), "at": r["created_at"]}
            for r in refunds
        ],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def payments_of_order(db: Database, caller: Principal, order_id: str) -> list[dict[str, Any]]:
    """Seed 002's `GET /payments/order/:orderId`: the order's payments, to whoever may see
    the order; to anyone else there are none."""

    async def work(tx: Tx) -> list[dict[str, Any]]:
        row = await tx.fetch_one(store.PAYMENT_FOR_ORDER, {"order_id": order_id})
        if row is None or not caller.may_see(row["owner_id"], row["account_id"]):
            raise PaymentNotFound(f"no payment for order {order_id}")
        refunds = await tx.fetch_all(store.REFUNDS_OF, {"payment_id": row["id"]})
        return [_payment_view(row, refunds)]

    return await db.read(work)


async def _payment_for(tx: Tx, order: OrderConfirmed | ChargePayment, amount: Decimal) -> Row:
    """The order's payment, written as pending the first time it is asked for."""
    payment = await tx.fetch_one(
        store.INSERT_PAYMENT,
        {
            "id": new_id(),
            "order_id": order.order_id,
            "owner_id": order.user_id,
            "account_id": order.account_id,
            "method": order.payment_method,
            "amount_cents": to_cents(amount),
            "currency": order.currency,
            "status": PaymentStatus.PENDING.value,
            "at": utcnow(),
        },
    )
    assert payment is not None
    return payment


async def charge_on_order_confirmed(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 4: charge a confirmed order (authorise, then capture). The order's
    confirmation carries what the payment needs; a repeat charges nothing."""
    order = message.read(OrderConfirmed)
    if not order.payment_method:
        return  # an order paid elsewhere
    payment = await _payment_for(tx, order, order.total_amount)
    if payment["status"] == PaymentStatus.PENDING:
        await _charge(tx, payment)


async def charge_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `payment.charge`: charge once; a repeated command hears the same answer."""
    charge = message.read(ChargePayment)
    payment = await _payment_for(tx, charge, charge.amount)
    status = PaymentStatus(payment["status"])
    if status is PaymentStatus.PENDING:
        await _charge(tx, payment, message)
    elif status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        await emit(tx, _outcome_message(payment, None, message))
    else:
        reason = payment["reason"] or status.value
        await emit(tx, _outcome_message(payment, reason, message))


async def _charge(tx: Tx, payment: Row, command: Envelope | None = None) -> None:
    """Authorise, then capture; `payment.completed` or `payment.failed`, answering `command`
    when a saga sent one."""
    answer = command
    token = await _token(tx, payment)
    if token is None:
        await _fail(tx, payment, "unknown_payment_method", answer=answer)
        return
    pid, cents = payment["id"], int(payment["amount_cents"])
    try:
        auth = await GATEWAY.authorize(token, cents, payment["currency"], key=f"{pid}:authorize")
    except GatewayTimeout:
        await _fail(tx, payment, "gateway_timeout", answer=answer)
        return
    except GatewayError:
        await _fail(tx, payment, "gateway_error", answer=answer)
        return
    if not auth.approved:
        await _fail(tx, payment, auth.reason or "declined", answer=answer)
        return
    try:
        captured = await GATEWAY.capture(auth.reference, cents, key=f"{pid}:capture")
    except (GatewayTimeout, GatewayError):
        captured = None
    if captured is None or not captured.approved:
        await GATEWAY.void(auth.reference, key=f"{pid}:void")
        await _fail(tx, payment, "capture_failed", auth.reference, answer=answer)
        return
    await _settle(tx, payment, PaymentStatus.CAPTURED, auth.reference, None, answer)


async def _token(tx: Tx, payment: Row) -> str | None:
    method = str(payment["method"])
    if domain.TOKEN.match(method):
        return method
    saved = await tx.fetch_one(store.GET_METHOD, {"id": method})
    if saved is None or saved["owner_id"] != payment["owner_id"]:
        return None
    return str(saved["token"])


async def _fail(
    tx: Tx,
    payment: Row,
    reason: str,
    auth_ref: str | None = None,
    *,
    answer: Envelope | None = None,
) -> None:
    await _settle(tx, payment, PaymentStatus.FAILED, auth_ref, reason, answer)


async def _settle(
    tx: Tx,
    payment: Row,
    status: PaymentStatus,
    auth_ref: str | None,
    reason: str | None,
    answer: Envelope | None,
) -> None:
    """The charge's outcome, and `payment.completed` (no `reason`) or `payment.failed`."""
    told = _outcome_message(payment, reason, answer)
    if tx.dialect == "postgresql":
        outcome = _outcome(payment, status, auth_ref, reason)
        await emit_along(tx, store.SETTLE_PG, outcome, told)
        return
    await _set(tx, payment, status, auth_ref, reason)
    await emit(tx, told)


def _outcome(
    payment: Row, status: PaymentStatus, auth_ref: str | None, reason: str | None
) -> dict[str, Any]:
    return {
        "id": payment["id"],
        "status": status.value,
        "auth_ref": auth_ref,
        "reason": reason,
        "at": utcnow(),
    }


async def _set(
    tx: Tx, payment: Row, status: PaymentStatus, auth_ref: str | None, reason: str | None
) -> None:
    await tx.execute(store.UPDATE_PAYMENT, _outcome(payment, status, auth_ref, reason))


def _outcome_message(payment: Row, reason: str | None, command: Envelope | None) -> Envelope:
    """`payment.completed`, or with a `reason` `payment.failed`; the answer to `command` when
    a saga sent one."""
    figures = {
        "payment_id": payment["id"],
        "order_id": payment["order_id"],
        "amount": from_cents(int(payment["amount_cents"])),
        "currency": payment["currency"],
    }
    body: Message = (
        PaymentCompleted(**figures, status="completed")
        if reason is None
        else PaymentFailed(**figures, reason=reason)
    )
    return _message(body, payment, command)


def _message(body: Message, payment: Row, command: Envelope | None = None) -> Envelope:
    if command is not None:
        return answering(command, body, source=SOURCE, aggregate_id=payment["order_id"])
    return new_message(body, source=SOURCE, aggregate_id=payment["order_id"])


async def refund_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """Seed 002: a cancelled order is never charged; if it was, its money goes back."""
    order_id = message.read(OrderCancelled).order_id
    payment = await tx.fetch_one(store.PAYMENT_FOR_ORDER, {"order_id": order_id})
    if payment is None:
        return  # an order nobody was to pay for (a direct order)
    status = PaymentStatus(payment["status"])
    if status is PaymentStatus.PENDING:
        await _set(tx, payment, PaymentStatus.CANCELLED, None, "order_cancelled")
        return
    if status is not PaymentStatus.CAPTURED:
        return  # failed, refunded or cancelled already
    pid, cents = payment["id"], int(payment["amount_cents"])
    refund = await GATEWAY.refund(payment["auth_ref"], cents, key=f"{pid}:refund")
    refund_id = new_id()
    await tx.execute(
        store.INSERT_REFUND,
        {
            "id": refund_id,
            "payment_id": pid,
            "amount_cents": cents,
            "reference": refund.reference,
            "at": utcnow(),
        },
    )
    await _set(tx, payment, PaymentStatus.REFUNDED, payment["auth_ref"], "order_cancelled")
    refunded = RefundCreated(
        refund_id=refund_id,
        payment_id=pid,
        order_id=order_id,
        amount=from_cents(cents),
        currency=payment["currency"],
    )
    await emit(tx, _message(refunded, payment))
