"""Queuing a mail: a row written in the transaction of the event it tells of."""

import structlog

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.ids import new_id
from orderly.notifications import store
from orderly.notifications.domain import OPTIONAL, MailStatus, first_status, wanted
from orderly.notifications.letters import Letter
from orderly.storage import Row, Tx

log = structlog.get_logger(__name__)


class RecipientUnknown(NotFound):
    """The user's `user.created` has not arrived yet (it may come after the order's event):
    the message is tried again later, as any handler's error is."""

    code = "recipient_unknown"


class OrderUnknown(NotFound):
    """The order's `order.created` has not arrived yet (an event naming only the order may
    come first): the message is tried again later, as any handler's error is."""

    code = "order_unknown"


async def recipient(tx: Tx, user_id: str) -> Row:
    user = await tx.fetch_one(store.USER, {"user_id": user_id})
    if user is None:
        raise RecipientUnknown(f"no user {user_id} to write to")
    return user


async def owner(tx: Tx, order_id: str) -> str:
    """The user who placed `order_id`."""
    row = await tx.fetch_one(store.ORDER_OWNER, {"order_id": order_id})
    if row is None:
        raise OrderUnknown(f"no order {order_id} known yet")
    return str(row["user_id"])


async def turned_off(tx: Tx, user_id: str) -> frozenset[str]:
    """The optional mails `user_id` turned off, as they stand in this transaction."""
    rows = await tx.fetch_all(store.OPT_OUTS, {"user_id": user_id})
    return frozenset(str(row["mail"]) for row in rows)


async def queue(
    tx: Tx, letter: Letter, user: Row, *, key: str, order_id: str | None, smtp: bool
) -> None:
    """Keep `letter` to `user`, queued for the sender (`smtp`) or unsent; skipped if it is
    optional and the user turned it off. One mail per `key`: a repeated event makes none."""
    to = str(user["email"])
    # a mail that always goes costs no read of the user's choices
    goes = letter.kind not in OPTIONAL or wanted(letter.kind, await turned_off(tx, user["user_id"]))
    status = first_status(smtp, goes)
    now = utcnow()
    mail_id = new_id()
    params = {
        "id": mail_id,
        "dedupe_key": key,
        "recipient": to,
        "subject": letter.subject,
        "body": letter.body,
        "template": letter.template,
        "order_id": order_id,
        "status": status.value,
        "next_attempt_at": now if status is MailStatus.QUEUED else None,
        "at": now,
    }
    if not await tx.execute(store.INSERT_MAIL, params):
        return
    if status is MailStatus.QUEUED:
        # The sender listens to this database's commits that wrote to an outbox: the mails
        # table is this context's outbox to the SMTP server, so the commit wakes it at once.
        tx.wrote_outbox = True
    log.info(
        "mail",
        mail_id=mail_id,
        to=to,
        subject=letter.subject,
        template=letter.template,
        order_id=order_id,
        status=status.value,
    )
