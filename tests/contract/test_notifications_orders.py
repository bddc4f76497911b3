"""The mails of an order's later life against a real SMTP server, on SQLite and PostgreSQL:
shipped (carrier and tracking number), delivered, cancelled and held for review, each once
however often its event is told; shipped and delivered only to a customer who has not
turned them off. Events that name only the order learn its customer from `order.created`."""

import pytest

from orderly.compliance.messages import ComplianceHeld
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.messaging import Envelope
from orderly.notifications import preferences
from orderly.notifications.mailing import OrderUnknown
from orderly.ordering.messages import OrderCancelled, OrderCreated, OrderLine
from orderly.storage import Row
from tests.contract.test_notifications import (
    EMAIL,
    USER,
    mails_of,
    notifications,
    order_confirmed,
    sending,
    settings_for,
    user_created,
)
from tests.messages import told
from tests.smtp import SmtpServer
from tests.waiting import eventually

TRACKING = "1Z999AA10123456784"
HOLD_RULE = "som_monthly_threshold"
HOLD_DETAIL = "Suspicious order: 3.4 times the account's monthly average of oxycodone"


def order_created(order_id: str, user_id: str = USER) -> Envelope:
    body = OrderCreated(
        order_id=order_id,
        user_id=user_id,
        items=[OrderLine(product_id="p-1", quantity=2)],
        total_amount=None,
        currency="USD",
        status="PENDING",
        channel="b2b",
        shipping_address={},
        account_id="PH-45678",
        orchestrated=True,
    )
    return told(body, order_id)


def status_updated(order_id: str, previous: str, current: str, **more: str) -> Envelope:
    body = OrderStatusUpdated(
        order_id=order_id, previous_status=previous, current_status=current, **more
    )
    return told(body, order_id, source="delivery-service")


def shipped(order_id: str) -> Envelope:
    return status_updated(
        order_id, "PENDING_SHIPMENT", "SHIPPED", tracking_number=TRACKING, carrier="UPS"
    )


def delivered(order_id: str) -> Envelope:
    return status_updated(
        order_id,
        "SHIPPED",
        "DELIVERED",
        delivered_at="2026-03-04T15:20:00Z",
        delivery_location="Front desk",
    )


def order_cancelled(order_id: str, reason: str) -> Envelope:
    return told(OrderCancelled(order_id=order_id, user_id=USER, items=[], reason=reason), order_id)


def compliance_held(order_id: str, decision_id: str = "d-1") -> Envelope:
    body = ComplianceHeld(
        order_id=order_id,
        run=1,
        decision_id=decision_id,
        hold_id="h-1",
        rule=HOLD_RULE,
        detail=HOLD_DETAIL,
    )
    return told(body, order_id, source="compliance-service")


async def test_shipped_and_delivered_are_mailed_with_the_tracking_number(
    database_url: str,
) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            # given a user and its order
            await bus.deliver(user_created())
            assert await bus.deliver(order_created("o-1")) == 1
            # when the order is picked, shipped and delivered
            await bus.deliver(status_updated("o-1", "ON_HOLD", "PENDING_SHIPMENT"))
            assert await bus.deliver(shipped("o-1")) == 1
            assert await bus.deliver(delivered("o-1")) == 1

            # then the customer hears of the shipment and the delivery, not of the rest
            arrived = await server.wait_for(2)
            by_subject = {mail.subject: mail for mail in arrived}
            assert set(by_subject) == {"Order shipped", "Order delivered"}
            on_its_way = by_subject["Order shipped"]
            assert on_its_way.recipients == [EMAIL]
            assert "o-1" in on_its_way.body
            assert f"Tracking number: {TRACKING}" in on_its_way.body
            assert "Carrier: UPS" in on_its_way.body
            assert "Dana" in on_its_way.body
            arrival = by_subject["Order delivered"]
            assert arrival.recipients == [EMAIL]
            assert "2026-03-04T15:20:00Z" in arrival.body
            assert "Front desk" in arrival.body

            async def both_sent() -> list[Row] | None:
                rows = await mails_of(bus.db, "o-1")
                return rows if all(row["status"] == "sent" for row in rows) else None

            rows = await eventually(both_sent)
            assert [row["template"] for row in rows] == ["order_shipped", "order_delivered"]
            assert len(server.received) == 2


async def test_a_status_update_told_again_mails_once(database_url: str) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            await bus.deliver(order_created("o-1"))
            first = shipped("o-1")
            assert await bus.deliver(first) == 1
            # the same message delivered again, and the same fact told in a new message
            assert await bus.deliver(first) == 0
            assert await bus.deliver(shipped("o-1")) == 1

            [mail] = await server.wait_for(1)
            assert mail.subject == "Order shipped"
            [row] = await mails_of(bus.db, "o-1")
            assert row["template"] == "order_shipped"


async def test_a_cancelled_order_is_mailed_once_and_only_a_readable_reason_is_told(
    database_url: str,
) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            # an order cancelled for want of stock, its cancellation told twice
            assert await bus.deliver(order_cancelled("o-1", "insufficient_inventory")) == 1
            assert await bus.deliver(order_cancelled("o-1", "cancelled")) == 1
            # an order compliance reported as suspicious
            assert await bus.deliver(order_cancelled("o-2", "suspicious_order_reported")) == 1

            arrived = await server.wait_for(2)
            assert [mail.subject for mail in arrived] == ["Order cancelled"] * 2
            by_order = {("o-1" if "o-1" in mail.body else "o-2"): mail for mail in arrived}
            assert "o-1 has been cancelled" in by_order["o-1"].body
            assert "not in stock" in by_order["o-1"].body
            reported = by_order["o-2"].body
            assert "o-2 has been cancelled" in reported
            for word in ("suspicious", "reported", "compliance", "review"):
                assert word not in reported.lower()
            assert len(await mails_of(bus.db, "o-1")) == 1
            assert len(await mails_of(bus.db, "o-2")) == 1


async def test_a_held_order_is_said_to_be_under_review_and_never_why(database_url: str) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            await bus.deliver(order_created("o-1"))
            # compliance holds the order; a repeated check answers the same decision again
            assert await bus.deliver(compliance_held("o-1")) == 1
            assert await bus.deliver(compliance_held("o-1")) == 1

            [mail] = await server.wait_for(1)
            assert mail.subject == "Order held for review"
            assert mail.recipients == [EMAIL]
            assert "o-1 is under review" in mail.body
            for secret in (HOLD_RULE, HOLD_DETAIL, "suspicious", "som", "average"):
                assert secret.lower() not in mail.body.lower()
            [row] = await mails_of(bus.db, "o-1")
            assert row["template"] == "order_held"
            assert HOLD_DETAIL not in row["body"]


async def test_a_customer_who_turned_shipped_off_still_gets_the_mails_that_always_go(
    database_url: str,
) -> None:
    async with SmtpServer() as server:
        settings = settings_for(server)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            await bus.deliver(order_created("o-1"))
            # given a customer who turned shipped mails off
            turned = await preferences.set_preferences(bus.db, USER, {"shipped": False})
            assert turned == {"shipped": False, "delivered": True}

            # when its order is confirmed, shipped and delivered
            assert await bus.deliver(order_confirmed("o-1")) == 1
            assert await bus.deliver(shipped("o-1")) == 1
            assert await bus.deliver(delivered("o-1")) == 1

            # then the shipped mail is kept as skipped and never sent; the others go
            async def settled() -> list[Row] | None:
                rows = await mails_of(bus.db, "o-1")
                done = len(rows) == 3 and all(row["status"] != "queued" for row in rows)
                return rows if done else None

            rows = await eventually(settled)
            status = {row["template"]: row["status"] for row in rows}
            assert status == {
                "order_confirmed": "sent",
                "order_shipped": "skipped",
                "order_delivered": "sent",
            }
            skipped = next(row for row in rows if row["template"] == "order_shipped")
            assert (skipped["attempts"], skipped["sent_at"]) == (0, None)
            subjects = sorted(mail.subject for mail in server.received)
            assert subjects == ["Order confirmed", "Order delivered"]

            # and once it turns them on again, the next order's shipment is mailed
            await preferences.set_preferences(bus.db, USER, {"shipped": True})
            await bus.deliver(order_created("o-2"))
            assert await bus.deliver(shipped("o-2")) == 1
            arrived = await server.wait_for(3)
            assert arrived[2].subject == "Order shipped"
            assert "o-2" in arrived[2].body


async def test_an_event_about_an_order_not_yet_known_is_tried_again(database_url: str) -> None:
    settings = settings_for(None)
    async with notifications(database_url, settings) as bus:
        await bus.deliver(user_created())
        on_its_way = shipped("o-1")
        held = compliance_held("o-1")
        # the order's `order.created` has not arrived: the handlers refuse, to be retried
        with pytest.raises(OrderUnknown):
            await bus.deliver(on_its_way)
        with pytest.raises(OrderUnknown):
            await bus.deliver(held)
        assert await mails_of(bus.db, "o-1") == []

        await bus.deliver(order_created("o-1"))
        assert await bus.deliver(on_its_way) == 1
        assert await bus.deliver(held) == 1
        rows = await mails_of(bus.db, "o-1")
        assert sorted(row["template"] for row in rows) == ["order_held", "order_shipped"]
        assert {row["recipient"] for row in rows} == {EMAIL}
        assert {row["status"] for row in rows} == {"unsent"}


async def test_every_event_is_handled_while_the_mail_server_refuses(database_url: str) -> None:
    async with SmtpServer(refusals=1000) as server:
        settings = settings_for(server, retries=1)
        async with notifications(database_url, settings) as bus, sending(bus, settings):
            await bus.deliver(user_created())
            await bus.deliver(order_created("o-1"))
            for event in (
                compliance_held("o-1"),
                shipped("o-1"),
                delivered("o-1"),
                order_cancelled("o-2", "customer"),
            ):
                assert await bus.deliver(event) == 1

            async def given_up() -> list[Row] | None:
                rows = await mails_of(bus.db, "o-1") + await mails_of(bus.db, "o-2")
                done = all(row["status"] == "failed" for row in rows)
                return rows if done else None

            rows = await eventually(given_up)
            assert len(rows) == 4
            assert {row["attempts"] for row in rows} == {2}
            assert server.received == []
