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
from orderly.kernel.money import money, to_cents
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, emit, emit_along, new_message
from orderly.payments import domain, store
from orderly.payments.domain import PaymentStatus
from orderly.payments.gateway import GatewayError, GatewayTimeout, PaymentGateway, SimulatedGateway
from orderly.payments.messages import (
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    REFUND_CREATED,
    SOURCE,
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


async def _payment_for(tx: Tx, data: dict[str, Any], amount: str) -> Row:
    """The order's payment, written as pending the first time it is asked for."""
    order_id = str(data["orderId"])
    payment = await tx.fetch_one(
        store.INSERT_PAYMENT,
        {
            "id": new_id(),
            "order_id": order_id,
            "owner_id": data.get("userId"),
            "account_id": data.get("accountId"),
            "method": str(data["paymentMethod"]),
            "amount_cents": to_cents(Decimal(str(amount))),
            "currency": str(data.get("currency") or "USD"),
            "status": PaymentStatus.PENDING.value,
            "at": utcnow(),
        },
    )
    assert payment is not None
    return payment


async def charge_on_order_confirmed(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 4: charge a confirmed order (authorise, then capture). The order's
    confirmation carries what the payment needs; a repeat charges nothing."""
    data = message.data
    if not data.get("paymentMethod"):
        return  # an order paid elsewhere
    payment = await _payment_for(tx, data, str(data["totalAmount"]))
    if payment["status"] == PaymentStatus.PENDING:
        await _charge(tx, payment, {})


async def charge_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `payment.charge`: charge once; a repeated command hears the same answer."""
    data = message.data
    payment = await _payment_for(tx, data, str(data["amount"]))
    answer = {"sagaId": data["sagaId"]}
    status = PaymentStatus(payment["status"])
    if status is PaymentStatus.PENDING:
        await _charge(tx, payment, answer)
    elif status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        await _publish(tx, PAYMENT_COMPLETED, payment, {"status": "completed", **answer})
    else:
        reason = payment["reason"] or status.value
        await _publish(tx, PAYMENT_FAILED, payment, {"reason": reason, **answer})


async def _charge(tx: Tx, payment: Row, answer: dict[str, Any]) -> None:
    """Authorise, then capture; `payment.completed` or `payment.failed` with `answer`."""
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
    completed = {"status": "completed", **answer}
    await _settle(tx, payment, PaymentStatus.CAPTURED, auth.reference, None, completed)


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
    answer: dict[str, Any] | None = None,
) -> None:
    failed = {"reason": reason, **(answer or {})}
    await _settle(tx, payment, PaymentStatus.FAILED, auth_ref, reason, failed)


async def _settle(
    tx: Tx,
    payment: Row,
    status: PaymentStatus,
    auth_ref: str | None,
    reason: str | None,
    extra: dict[str, Any],
) -> None:
    """The charge's outcome, and `payment.completed` or `payment.failed` with `extra`."""
    kind = PAYMENT_COMPLETED if status is PaymentStatus.CAPTURED else PAYMENT_FAILED
    if tx.dialect == "postgresql":
        outcome = _outcome(payment, status, auth_ref, reason)
        await emit_along(tx, store.SETTLE_PG, outcome, _message(kind, payment, extra))
        return
    await _set(tx, payment, status, auth_ref, reason)
    await _publish(tx, kind, payment, extra)


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


def _message(kind: str, payment: Row, extra: dict[str, Any]) -> Envelope:
    data = {
        "paymentId": payment["id"],
        "orderId": payment["order_id"],
        "amount": money(payment["amount_cents"]),
        "currency": payment["currency"],
        **extra,
    }
    return new_message(kind, data, source=SOURCE, aggregate_id=payment["order_id"])


async def _publish(tx: Tx, kind: str, payment: Row, extra: dict[str, Any]) -> None:
    await emit(tx, _message(kind, payment, extra))


async def refund_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """Seed 002: a cancelled order is never charged; if it was, its money goes back."""
    order_id = str(message.data["orderId"])
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
    await _publish(tx, REFUND_CREATED, payment, {"refundId": refund_id})
