"""How notifications plugs into a running Orderly."""

from orderly.compliance.messages import ComplianceHeld
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, Worker, consumer
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.identity.messages import UserCreated
from orderly.notifications import api, handlers, messages, sending, store
from orderly.notifications.policy import policy
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated, OrderFailed
from orderly.payments.messages import PaymentCompleted


def wire(settings: Settings) -> Wired:
    """The handlers, and the sender when an SMTP server is configured (without one, mails
    are kept as `unsent` and nothing sends them)."""
    rules = policy(settings)
    mails = handlers.MailHandlers(rules)
    sender = sending.sender(rules)
    workers: tuple[Worker, ...] = (sender,) if sender is not None else ()
    return Wired(
        subscriptions=(
            consumer("notifications", handlers.copy_user_on_user_created, UserCreated),
            consumer("notifications", mails.mail_on_order_confirmed, OrderConfirmed),
            consumer("notifications", mails.mail_on_payment_completed, PaymentCompleted),
            consumer("notifications", mails.mail_on_order_failed, OrderFailed),
            consumer("notifications", handlers.copy_order_on_order_created, OrderCreated),
            consumer("notifications", mails.mail_on_order_cancelled, OrderCancelled),
            consumer("notifications", mails.mail_on_order_held, ComplianceHeld),
            consumer(
                "notifications",
                mails.mail_on_order_status_updated,
                OrderStatusUpdated,
                concerns=handlers.shipped_or_delivered,
            ),
        ),
        workers=workers,
    )


CONTEXT = ContextSpec(
    name="notifications",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
