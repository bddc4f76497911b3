"""The payment of each order (seed 002 step 4), charged and refunded through the gateway.

A payment is written and charged (authorised, then captured) when its order is confirmed
(`order.confirmed`, which carries the payment method), or when a saga asks
(`payment.charge`), and `payment.completed` or `payment.failed` says how that went. When the
order is cancelled (`order.cancelled`) a captured payment is refunded (`refund.created`);
one not yet taken never will be. Units of a paid order that will not ship (`order.credited`)
are refunded as a part of it. Each gateway call's idempotency key is the payment's id and
the step, so a handler tried again never charges or refunds twice.
"""

import uuid
from decimal import Decimal
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import Envelope, Message, answering, emit, new_message
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCredited
from orderly.payments import domain, store
from orderly.payments.domain import PaymentStatus
from orderly.payments.gateway import GatewayError, GatewayTimeout, PaymentGateway
from orderly.payments.messages import (
    SOURCE,
    ChargePayment,
    PaymentCompleted,
    PaymentFailed,
    RefundCreated,
)
from orderly.storage import Row, Tx


class Charging:
    """The handlers that move money, bound to the deployment's gateway. Each handler's name
    names its consumer (and its queue)."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @staticmethod
    def paid_here(message: Envelope) -> bool:
        """Whether a confirmed order is charged here: one that names a payment method
        (`concerns` of `charge_on_order_confirmed`): an order paid elsewhere is not."""
        return bool(message.read(OrderConfirmed).payment_method)

    async def charge_on_order_confirmed(self, tx: Tx, message: Envelope) -> None:
        """Seed 002 step 4: charge a confirmed order (authorise, then capture). The order's
        confirmation carries what the payment needs; a repeat charges nothing."""
        order = message.read(OrderConfirmed)
        if not order.payment_method:
            return  # an order paid elsewhere
        payment = await _payment_for(tx, order, order.total_amount)
        if payment["status"] == PaymentStatus.PENDING:
            await self._charge(tx, payment)

    async def charge_on_command(self, tx: Tx, message: Envelope) -> None:
        """A saga's `payment.charge`: charge once; a repeated command hears the same answer."""
        charge = message.read(ChargePayment)
        payment = await _payment_for(tx, charge, charge.amount)
        status = PaymentStatus(payment["status"])
        if status is PaymentStatus.PENDING:
            await self._charge(tx, payment, message)
        elif status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
            await emit(tx, _outcome_message(payment, None, message))
        else:
            reason = payment["reason"] or status.value
            await emit(tx, _outcome_message(payment, reason, message))

    async def _charge(self, tx: Tx, payment: Row, command: Envelope | None = None) -> None:
        """Authorise, then capture; `payment.completed` or `payment.failed`, answering
        `command` when a saga sent one."""
        answer = command
        token = await _token(tx, payment)
        if token is None:
            await _fail(tx, payment, "unknown_payment_method", answer=answer)
            return
        pid, cents, gateway = payment["id"], int(payment["amount_cents"]), self._gateway
        try:
            auth = await gateway.authorize(
                token, cents, payment["currency"], key=f"{pid}:authorize"
            )
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
            captured = await gateway.capture(auth.reference, cents, key=f"{pid}:capture")
        except (GatewayTimeout, GatewayError):
            captured = None
        if captured is None or not captured.approved:
            await gateway.void(auth.reference, key=f"{pid}:void")
            await _fail(tx, payment, "capture_failed", auth.reference, answer=answer)
            return
        await _settle(tx, payment, PaymentStatus.CAPTURED, auth.reference, None, answer)

    async def refund_on_order_cancelled(self, tx: Tx, message: Envelope) -> None:
        """Seed 002: a cancelled order is never charged; if it was, its money goes back (what
        credits did not give back already)."""
        order_id = message.read(OrderCancelled).order_id
        payment = await _locked_payment(tx, order_id)
        if payment is None:
            return  # an order nobody was to pay for (a direct order)
        status = PaymentStatus(payment["status"])
        if status is PaymentStatus.PENDING:
            await _set(tx, payment, PaymentStatus.CANCELLED, None, "order_cancelled")
            return
        if status is not PaymentStatus.CAPTURED:
            return  # failed, refunded or cancelled already
        pid = payment["id"]
        cents = int(payment["amount_cents"]) - await _refunded(tx, payment)
        if cents > 0:
            refund = await self._gateway.refund(payment["auth_ref"], cents, key=f"{pid}:refund")
            await self._refunded(tx, payment, new_id(), cents, refund.reference)
        await _set(tx, payment, PaymentStatus.REFUNDED, payment["auth_ref"], "order_cancelled")

    async def refund_on_order_credited(self, tx: Tx, message: Envelope) -> None:
        """Units of a paid order will not ship (`order.credited`): their price goes back, a
        part of its payment, once; never more than is left of it."""
        credit = message.read(OrderCredited)
        payment = await _locked_payment(tx, credit.order_id)
        if payment is None or payment["status"] != PaymentStatus.CAPTURED:
            return  # not paid here, not taken, or all given back already
        left = int(payment["amount_cents"]) - await _refunded(tx, payment)
        cents = min(to_cents(credit.amount), left)
        if cents <= 0:
            return
        key = f"{payment['id']}:credit:{credit.credit_id}"
        refund = await self._gateway.refund(payment["auth_ref"], cents, key=key)
        refund_id = str(uuid.uuid5(_CREDIT_REFUNDS, credit.credit_id))
        if not await self._refunded(tx, payment, refund_id, cents, refund.reference):
            return
        if cents == left:
            await _set(tx, payment, PaymentStatus.REFUNDED, payment["auth_ref"], credit.reason)

    async def _refunded(
        self, tx: Tx, payment: Row, refund_id: str, cents: int, reference: str | None
    ) -> bool:
        """Record a refund of `cents` (`refund.created`), unless it is recorded already."""
        params = {
            "id": refund_id,
            "payment_id": payment["id"],
            "amount_cents": cents,
            "reference": reference,
            "at": utcnow(),
        }
        if not await tx.execute(store.INSERT_REFUND_ONCE, params):
            return False
        refunded = RefundCreated(
            refund_id=refund_id,
            payment_id=payment["id"],
            order_id=payment["order_id"],
            amount=from_cents(cents),
            currency=payment["currency"],
        )
        await emit(tx, _message(refunded, payment))
        return True


# A credit's refund is named from the credit: told twice, it is made once.
_CREDIT_REFUNDS = uuid.UUID("2d4c8e1a-7f3b-4a96-b0e5-9c1d3f6a8b27")


async def _locked_payment(tx: Tx, order_id: str) -> Row | None:
    """The order's payment; on PostgreSQL locked, so that two refunds of it take turns."""
    stmt = store.PAYMENT_FOR_ORDER_LOCKED if tx.dialect == "postgresql" else store.PAYMENT_FOR_ORDER
    return await tx.fetch_one(stmt, {"order_id": order_id})


async def _refunded(tx: Tx, payment: Row) -> int:
    """Cents of the payment given back so far."""
    row = await tx.fetch_one(store.REFUNDED, {"payment_id": payment["id"]})
    return 0 if row is None else int(row["cents"])


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
    await store.settle(tx, _outcome(payment, status, auth_ref, reason), told)


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
