"""Notifications' message handlers: keep a user's address; write to a pharmacy when its B2B
order is confirmed or could not be placed."""

from orderly.identity.messages import UserCreated
from orderly.kernel.money import money, to_cents
from orderly.messaging import Envelope
from orderly.notifications import letters, mailing, store
from orderly.notifications.policy import NotificationPolicy
from orderly.ordering.messages import OrderConfirmed, OrderFailed
from orderly.storage import Tx


async def copy_user_on_user_created(tx: Tx, message: Envelope) -> None:
    user = message.read(UserCreated)
    params = {
        "user_id": user.user_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }
    await tx.execute(store.UPSERT_USER, params)


class MailHandlers:
    """The handlers that queue mail, bound to whether an SMTP server is configured. Each
    bound method is one consumer, named after it."""

    def __init__(self, policy: NotificationPolicy) -> None:
        self.smtp = policy.server is not None

    async def mail_on_order_confirmed(self, tx: Tx, message: Envelope) -> None:
        """A B2B confirmation (it carries the ERP's sales order number) is mailed; a B2C or
        direct order's is not."""
        order = message.read(OrderConfirmed)
        if not order.sales_order_number:
            return
        user = await mailing.recipient(tx, order.user_id)
        letter = letters.order_confirmed(
            first_name=user["first_name"],
            sales_order_number=order.sales_order_number,
            order_id=order.order_id,
            total=money(to_cents(order.total_amount)),
            currency=order.currency,
        )
        key = f"order_confirmed:{order.order_id}"
        await mailing.queue(
            tx, letter, user["email"], key=key, order_id=order.order_id, smtp=self.smtp
        )

    async def mail_on_order_failed(self, tx: Tx, message: Envelope) -> None:
        """Each failure is told (a replayed checkout may fail again)."""
        order = message.read(OrderFailed)
        user = await mailing.recipient(tx, order.user_id)
        letter = letters.order_failed(
            first_name=user["first_name"], order_id=order.order_id, detail=order.detail
        )
        key = f"order_failed:{message.id}"
        await mailing.queue(
            tx, letter, user["email"], key=key, order_id=order.order_id, smtp=self.smtp
        )
