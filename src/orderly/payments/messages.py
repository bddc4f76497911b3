"""Payments' public messages (seed 002)."""

SOURCE = "payments-service"

# {paymentId, orderId, amount, currency}: the order is paid (authorised and captured).
PAYMENT_COMPLETED = "payment.completed"
# {paymentId, orderId, amount, currency, reason}: it could not be.
PAYMENT_FAILED = "payment.failed"
# {refundId, paymentId, orderId, amount, currency}: a cancelled order's money went back.
REFUND_CREATED = "refund.created"

PUBLISHES = (PAYMENT_COMPLETED, PAYMENT_FAILED, REFUND_CREATED)
