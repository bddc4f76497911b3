"""Payments' public messages (seed 002)."""

SOURCE = "payments-service"

# {paymentId, orderId, amount, currency}: the order is paid (authorised and captured).
PAYMENT_COMPLETED = "payment.completed"
# {paymentId, orderId, amount, currency, reason}: it could not be.
PAYMENT_FAILED = "payment.failed"
# {refundId, paymentId, orderId, amount, currency}: a cancelled order's money went back.
REFUND_CREATED = "refund.created"

# A command a saga sends payments: {sagaId, orderId, userId, accountId?, amount, currency,
# paymentMethod} → payment.completed | payment.failed, carrying the `sagaId`.
PAYMENT_CHARGE = "payment.charge"

PUBLISHES = (PAYMENT_COMPLETED, PAYMENT_FAILED, REFUND_CREATED)
