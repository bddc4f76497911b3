"""The sender: sends queued mails over SMTP, outside any transaction, and tries a refused
one again with backoff until its tries run out. It never touches an order: a mail that cannot
be sent is `failed` in the log, and that is all."""

import asyncio
import random
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import structlog

from orderly.kernel.aio import wait_or_timeout
from orderly.kernel.clock import utcnow
from orderly.notifications import store
from orderly.notifications.policy import NotificationPolicy, SmtpServer
from orderly.storage import Database, Row, Tx

log = structlog.get_logger(__name__)


class Sender:
    """A `Worker`: `await sender(db, interval)` sends until cancelled, woken at once by a
    commit that queued a mail, else every `interval` seconds or when a retry falls due."""

    def __init__(self, policy: NotificationPolicy) -> None:
        assert policy.server is not None, "no SMTP server: nothing to send"
        self.policy = policy
        self.server: SmtpServer = policy.server
        self.wake = asyncio.Event()
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def __call__(self, db: Database, interval: float) -> None:
        db.on_commit(self.wake.set)
        while True:
            self.wake.clear()  # before the round: a mail queued during it wakes the next
            taken = 0
            try:
                taken = await self.send_due(db)
            except Exception as error:
                log.warning("sending mail failed", error=type(error).__name__)
            if taken >= self.policy.batch:
                continue
            await wait_or_timeout(self.wake, await self._pause(db, interval))

    async def send_due(self, db: Database) -> int:
        """Send the mails due now, a batch at once; how many were taken."""
        mails = await db.transaction(self._claim)
        await asyncio.gather(*(self._send_one(db, mail) for mail in mails))
        return len(mails)

    async def _claim(self, tx: Tx) -> list[Row]:
        now = utcnow()
        lease = now + timedelta(seconds=self.policy.timeout * 2)
        due = await tx.fetch_all(store.DUE, {"now": now, "limit": self.policy.batch})
        taken = []
        for row in due:
            if await tx.execute(store.CLAIM, {"id": row["id"], "now": now, "lease": lease}):
                taken.append(await tx.fetch_one(store.MAIL, {"id": row["id"]}))
        return [mail for mail in taken if mail is not None]

    async def _send_one(self, db: Database, mail: Row) -> None:
        async with self._slots:
            error = await self._deliver(mail)
        if error is None:
            await db.transaction(lambda tx: tx.execute(store.MARK_SENT, _at(mail, utcnow())))
            self._log(mail, "sent")
            return
        reason, permanent = error
        delay = self.policy.backoff.delay(mail["attempts"], permanent, random.random())
        if delay is None:
            params = {"id": mail["id"], "error": reason}
            await db.transaction(lambda tx: tx.execute(store.MARK_FAILED, params))
            self._log(mail, "failed", error=reason)
            return
        retry_at = utcnow() + timedelta(seconds=delay)
        params = {"id": mail["id"], "error": reason, "at": retry_at}
        await db.transaction(lambda tx: tx.execute(store.MARK_RETRY, params))
        self._log(mail, "queued", error=reason, retry_in=round(delay, 3))

    async def _deliver(self, mail: Row) -> tuple[str, bool] | None:
        """Send `mail`; None if the server took it, else why not and whether for good (the
        server refused it with a 5xx: trying again would be refused again)."""
        server = self.server
        try:
            await aiosmtplib.send(
                _email(mail, self.policy.sender),
                hostname=server.host,
                port=server.port,
                use_tls=server.tls,
                username=server.username,
                password=server.password,
                timeout=self.policy.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            return _reason(error, min(codes, default=0)), all(code >= 500 for code in codes)
        except aiosmtplib.SMTPResponseException as error:
            return _reason(error, error.code), error.code >= 500
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return _reason(error, None), False
        return None

    async def _pause(self, db: Database, interval: float) -> float:
        """Until the next retry falls due, at most `interval` seconds."""
        row = await db.read(lambda tx: tx.fetch_one(store.NEXT_DUE))
        due = row["at"] if row else None
        if due is None:
            return interval
        if isinstance(due, str):  # SQLite gives an aggregate's value back as stored
            due = datetime.fromisoformat(due)
        return max(0.0, min(interval, (due - utcnow()).total_seconds()))

    def _log(self, mail: Row, status: str, **more: object) -> None:
        log.info(
            "mail",
            mail_id=mail["id"],
            to=mail["recipient"],
            subject=mail["subject"],
            template=mail["template"],
            order_id=mail["order_id"],
            status=status,
            attempts=mail["attempts"],
            **more,
        )


def _at(mail: Row, moment: datetime) -> dict[str, object]:
    return {"id": mail["id"], "at": moment}


def _reason(error: Exception, code: int | None) -> str:
    """What the log keeps of a failure: the error's type and SMTP code, never the server's
    text (it may repeat the addresses)."""
    name = type(error).__name__
    return name if code is None else f"{name} {code}"


def _email(mail: Row, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail["recipient"]
    message["Subject"] = mail["subject"]
    message["Date"] = format_datetime(mail["created_at"])
    # the same id on every try: a mail sent twice (a sender died after the server took it)
    # is one mail to the reader's client
    message["Message-ID"] = f"<{mail['id']}@orderly.invalid>"
    message.set_content(mail["body"])
    return message


def sender(policy: NotificationPolicy) -> Sender | None:
    """The deployment's sender; None when no SMTP server is configured."""
    return Sender(policy) if policy.server is not None else None
