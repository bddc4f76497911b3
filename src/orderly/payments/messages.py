"""Payments' public messages (seed 002), and the command a saga may send it."""

from decimal import Decimal

from orderly.messaging import Message

SOURCE = "payments-service"


class PaymentCompleted(Message):
    """The order is paid (authorised and captured). A repeated charge command hears it again,
    with `status: completed`."""

    TYPE = "payment.completed"

    payment_id: str
    order_id: str
    amount: Decimal
    currency: str
    status: str | None = None


class PaymentFailed(Message):
    """The order could not be paid, and why."""

    TYPE = "payment.failed"

    payment_id: str
    order_id: str
    amount: Decimal
    currency: str
    reason: str


class RefundCreated(Message):
    """A cancelled order's money went back."""

    TYPE = "refund.created"

    refund_id: str
    payment_id: str
    order_id: str
    amount: Decimal
    currency: str


class ChargePayment(Message):
    """A saga's command: charge the order once; answered with `payment.completed` or
    `payment.failed`."""

    TYPE = "payment.charge"

    order_id: str
    user_id: str
    amount: Decimal
    currency: str
    payment_method: str
    account_id: str | None = None


MESSAGES = (PaymentCompleted, PaymentFailed, RefundCreated, ChargePayment)
PUBLISHES = (PaymentCompleted.TYPE, PaymentFailed.TYPE, RefundCreated.TYPE)
