"""Notifications' message handlers: keep a user's address and whose each order is; write to
a customer when its order is confirmed (B2B), could not be placed, is held for review, is
cancelled, shipped or delivered."""

from msgspec import UnsetType

from orderly.compliance.messages import ComplianceHeld
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.identity.messages import UserCreated
from orderly.kernel.money import money, to_cents
from orderly.messaging import Envelope
from orderly.notifications import letters, mailing, store
from orderly.notifications.domain import cancellation_reason
from orderly.notifications.letters import Letter
from orderly.notifications.policy import NotificationPolicy
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated, OrderFailed
from orderly.payments.messages import PaymentCompleted
from orderly.storage import Row, Tx

# The statuses of `order.status_updated` a customer is written about.
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"


async def copy_user_on_user_created(tx: Tx, message: Envelope) -> None:
    user = message.read(UserCreated)
    params = {
        "user_id": user.user_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }
    await tx.execute(store.UPSERT_USER, params)


async def copy_order_on_order_created(tx: Tx, message: Envelope) -> None:
    """Whose the order is: `order.status_updated` and `compliance.held` name only the order."""
    order = message.read(OrderCreated)
    await tx.execute(store.INSERT_ORDER, {"order_id": order.order_id, "user_id": order.user_id})


def shipped_or_delivered(message: Envelope) -> bool:
    """Whether `mail_on_order_status_updated` writes about `message` (`concerns`)."""
    return message.read(OrderStatusUpdated).current_status in (SHIPPED, DELIVERED)


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
        await self._queue(tx, letter, user, f"order_confirmed:{order.order_id}", order.order_id)

    async def mail_on_payment_completed(self, tx: Tx, message: Envelope) -> None:
        """A shop order is confirmed to its customer once it is paid: its total as charged
        (a B2B order's confirmation carries the ERP's number instead; a direct order is not
        paid here)."""
        paid = message.read(PaymentCompleted)
        user = await mailing.recipient(tx, await mailing.owner(tx, paid.order_id))
        letter = letters.order_confirmed(
            first_name=user["first_name"],
            sales_order_number=None,
            order_id=paid.order_id,
            total=money(to_cents(paid.amount)),
            currency=paid.currency,
        )
        await self._queue(tx, letter, user, f"order_confirmed:{paid.order_id}", paid.order_id)

    async def mail_on_order_failed(self, tx: Tx, message: Envelope) -> None:
        """Each failure is told (a replayed checkout may fail again)."""
        order = message.read(OrderFailed)
        user = await mailing.recipient(tx, order.user_id)
        letter = letters.order_failed(
            first_name=user["first_name"], order_id=order.order_id, detail=order.detail
        )
        await self._queue(tx, letter, user, f"order_failed:{message.id}", order.order_id)

    async def mail_on_order_cancelled(self, tx: Tx, message: Envelope) -> None:
        """Once per order, however often its cancellation is told; why, only when the reason
        is one the customer may read."""
        order = message.read(OrderCancelled)
        user = await mailing.recipient(tx, order.user_id)
        letter = letters.order_cancelled(
            first_name=user["first_name"],
            order_id=order.order_id,
            reason=cancellation_reason(order.reason),
        )
        await self._queue(tx, letter, user, f"order_cancelled:{order.order_id}", order.order_id)

    async def mail_on_order_held(self, tx: Tx, message: Envelope) -> None:
        """Compliance held a B2B order for an analyst: the pharmacy hears that it is under
        review, never why (suspicious order monitoring must not tip off the buyer). Once per
        hold decision: a check answered again makes no second mail."""
        held = message.read(ComplianceHeld)
        user = await mailing.recipient(tx, await mailing.owner(tx, held.order_id))
        letter = letters.order_held(first_name=user["first_name"], order_id=held.order_id)
        await self._queue(tx, letter, user, f"order_held:{held.decision_id}", held.order_id)

    async def mail_on_order_status_updated(self, tx: Tx, message: Envelope) -> None:
        """A shipped order's carrier and tracking number (each, of an order shipped in parts
        from several distribution centres); a delivered order's time and place. Once each.
        Other statuses are not written about."""
        update = message.read(OrderStatusUpdated)
        if update.current_status not in (SHIPPED, DELIVERED):
            return
        user = await mailing.recipient(tx, await mailing.owner(tx, update.order_id))
        if update.current_status == SHIPPED:
            letter = letters.order_shipped(
                first_name=user["first_name"],
                order_id=update.order_id,
                carrier=_given(update.carrier),
                tracking_number=_given(update.tracking_number),
            )
        else:
            letter = letters.order_delivered(
                first_name=user["first_name"],
                order_id=update.order_id,
                delivered_at=_given(update.delivered_at),
                delivery_location=_given(update.delivery_location),
            )
        key = f"{letter.template}:{update.order_id}"
        if update.current_status == SHIPPED and isinstance(update.tracking_number, str):
            key = f"{key}:{update.tracking_number}"  # an order shipped in parts: each
        await self._queue(tx, letter, user, key, update.order_id)

    async def _queue(self, tx: Tx, letter: Letter, user: Row, key: str, order_id: str) -> None:
        await mailing.queue(tx, letter, user, key=key, order_id=order_id, smtp=self.smtp)


def _given(value: str | UnsetType) -> str:
    """A field the seed's event may leave out, as the mail shows it."""
    return value if isinstance(value, str) else "not given"
