"""Notifications against a real SMTP server, on SQLite and PostgreSQL: the handlers queue
mails as events arrive (each through the bus, as `wire` binds them), and the sender sends
them, trying a refused mail again until the server takes it or its tries run out. The order
events are handled whatever the mail server does."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal

import pytest

from orderly.config import Settings
from orderly.identity.messages import UserCreated
from orderly.messaging import Envelope
from orderly.notifications import store
from orderly.notifications.context import CONTEXT
from orderly.notifications.domain import Backoff
from orderly.notifications.mailing import RecipientUnknown
from orderly.notifications.policy import policy
from orderly.notifications.sending import Sender
from orderly.ordering.messages import OrderConfirmed, OrderFailed
from orderly.storage import Database, Row, open_database
from orderly.storage.migrations import migrate
from tests.bus import Bus
from tests.messages import told
from tests.smtp import SmtpServer
from tests.waiting import eventually

USER = "u-buyer"
EMAIL = "buyer@pharmacy.example"


def user_created(user_id: str = USER, email: str = EMAIL) -> Envelope:
    body = UserCreated(user_id=user_id, email=email, first_name="Dana", last_name="Reyes")
    return told(body, user_id)


def order_confirmed(order_id: str, sales_order_number: str | None = "4500000001") -> Envelope:
    body = OrderConfirmed(
        order_id=order_id,
        user_id=USER,
        total_amount=Decimal("4230.00"),
        currency="USD",
        account_id="PH-45678",
        sales_order_number=sales_order_number,
        channel="b2b" if sales_order_number else "b2c",
    )
    return told(body, order_id)


def order_failed(order_id: str) -> Envelope:
    body = OrderFailed(
        order_id=order_id,
        user_id=USER,
        account_id="PH-45678",
        step="erp.sales_order.create",
        reason="erp_timeout",
        detail="The ERP did not answer in time; nothing was ordered.",
    )
    return told(body, order_id)


async def mails_of(db: Database, order_id: str) -> list[Row]:
    return await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))


@asynccontextmanager
async def notifications(url: str, settings: Settings) -> AsyncIterator[Bus]:
    """Notifications' consumers, wired from `settings`, on its own migrated database."""
    await migrate(url, CONTEXT.name)
    db = await open_database(url, CONTEXT.name)
    try:
        yield Bus(CONTEXT, db, settings)
    finally:
        await db.close()


@asynccontextmanager
async def sending(bus: Bus, settings: Settings) -> AsyncIterator[Sender]:
    """The sender as `wire` makes it, with retries a few hundredths of a second apart, running
    on the bus's database. Its period is a minute: only a commit's wake-up or a retry falling
    due makes it send within a test's deadline."""
    rules = policy(settings)
    quick = replace(rules, backoff=Backoff(retries=rules.backoff.retries, base=0.05), timeout=5.0)
    sender = Sender(quick)
    task = asyncio.create_task(sender(bus.db, 60.0))
    try:
        yield sender
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def settings_for(server: SmtpServer | None, retries: int = 5) -> Settings:
    return Settings(smtp_url=server.url if server else "", mail_retries=retries)


async def test_b2b_confirmation_and_failure_are_mailed(database_url: str) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            # given a user, when its B2B order is confirmed and another one fails
            assert await bus.deliver(user_created()) == 1
            assert await bus.deliver(order_confirmed("o-1")) == 1
            assert await bus.deliver(order_failed("o-2")) == 1

            # then two mails arrive
            arrived = await server.wait_for(2)
            by_subject = {mail.subject: mail for mail in arrived}
            confirmed = by_subject["Order confirmed"]
            assert confirmed.recipients == [EMAIL]
            assert confirmed.message["To"] == EMAIL
            assert "orders@orderly.invalid" in confirmed.sender
            assert "4500000001" in confirmed.body
            assert "o-1" in confirmed.body
            assert "4230.00 USD" in confirmed.body
            assert "Dana" in confirmed.body
            failed = by_subject["Order could not be placed"]
            assert failed.recipients == [EMAIL]
            assert "o-2" in failed.body
            assert "The ERP did not answer in time" in failed.body

            async def both_sent() -> bool:
                rows = await mails_of(bus.db, "o-1") + await mails_of(bus.db, "o-2")
                return all(row["status"] == "sent" for row in rows)

            await eventually(both_sent)
            [row] = await mails_of(bus.db, "o-1")
            assert (row["recipient"], row["subject"]) == (EMAIL, "Order confirmed")
            assert (row["template"], row["attempts"]) == ("order_confirmed", 1)
            assert row["sent_at"] is not None
            assert row["last_error"] is None
            assert "4500000001" in row["body"]
            [row] = await mails_of(bus.db, "o-2")
            assert (row["template"], row["subject"]) == (
                "order_failed",
                "Order could not be placed",
            )


async def test_only_a_confirmation_with_a_sales_order_is_mailed_and_only_once(
    database_url: str,
) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            # a B2C confirmation (no sales order): no mail
            assert await bus.deliver(order_confirmed("o-b2c", sales_order_number=None)) == 1
            # a B2B confirmation told twice (two messages): one mail
            await bus.deliver(order_confirmed("o-b2b"))
            await bus.deliver(order_confirmed("o-b2b"))

            [mail] = await server.wait_for(1)
            assert "o-b2b" in mail.body
            assert await mails_of(bus.db, "o-b2c") == []
            assert len(await mails_of(bus.db, "o-b2b")) == 1


async def test_a_refusing_server_is_tried_again_until_it_takes_the_mail(database_url: str) -> None:
    async with SmtpServer(refusals=2) as server:
        settings = settings_for(server, retries=5)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            # the order's event is handled whatever the mail server says
            assert await bus.deliver(order_confirmed("o-1")) == 1
            assert len(await mails_of(bus.db, "o-1")) == 1

            [mail] = await server.wait_for(1)
            assert "4500000001" in mail.body
            assert server.refused == 2

            async def sent() -> Row | None:
                [row] = await mails_of(bus.db, "o-1")
                return row if row["status"] == "sent" else None

            row = await eventually(sent)
            assert row["attempts"] == 3


async def test_a_server_not_yet_listening_gets_the_mail_once_it_starts(database_url: str) -> None:
    server = SmtpServer()  # its port is chosen; nothing listens on it yet
    settings = settings_for(server, retries=20)
    async with notifications(database_url, settings) as bus, sending(bus, settings):
        await bus.deliver(user_created())
        assert await bus.deliver(order_failed("o-1")) == 1

        async def tried() -> Row | None:
            [row] = await mails_of(bus.db, "o-1")
            return row if row["attempts"] >= 1 and row["last_error"] else None

        row = await eventually(tried)
        assert row["status"] == "queued"
        assert server.received == []

        await server.start()
        try:
            [mail] = await server.wait_for(1)
            assert mail.subject == "Order could not be placed"

            async def sent() -> bool:
                [row] = await mails_of(bus.db, "o-1")
                return bool(row["status"] == "sent")

            await eventually(sent)
        finally:
            await server.stop()


async def test_a_mail_whose_tries_run_out_is_failed(database_url: str) -> None:
    async with SmtpServer(refusals=100) as server:
        settings = settings_for(server, retries=2)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            assert await bus.deliver(order_confirmed("o-1")) == 1

            async def failed() -> Row | None:
                [row] = await mails_of(bus.db, "o-1")
                return row if row["status"] == "failed" else None

            row = await eventually(failed)
            assert row["attempts"] == 3  # the first try and two retries
            assert row["last_error"] == "SMTPRecipientsRefused 451"
            assert row["sent_at"] is None
            assert server.received == []
            assert server.refused == 3


async def test_without_an_smtp_server_mails_are_kept_unsent(database_url: str) -> None:
    settings = settings_for(None)
    assert CONTEXT.wire(settings).workers == ()
    async with notifications(database_url, settings) as bus:
        await bus.deliver(user_created())
        assert await bus.deliver(order_confirmed("o-1")) == 1
        assert await bus.deliver(order_failed("o-2")) == 1

        rows = await mails_of(bus.db, "o-1") + await mails_of(bus.db, "o-2")
        assert [row["status"] for row in rows] == ["unsent", "unsent"]
        assert [row["attempts"] for row in rows] == [0, 0]
        assert rows[0]["recipient"] == EMAIL
        assert "4500000001" in rows[0]["body"]


async def test_an_order_of_a_user_not_yet_known_is_tried_again(database_url: str) -> None:
    settings = settings_for(None)
    async with notifications(database_url, settings) as bus:
        confirmed = order_confirmed("o-1")
        # the order's event came before the user's: the handler refuses, the message is retried
        with pytest.raises(RecipientUnknown):
            await bus.deliver(confirmed)
        assert await mails_of(bus.db, "o-1") == []

        await bus.deliver(user_created())
        assert await bus.deliver(confirmed) == 1
        [row] = await mails_of(bus.db, "o-1")
        assert row["recipient"] == EMAIL
