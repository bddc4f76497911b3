"""Payments' handlers through its consumers, on a SQLite database of its own: what each
message does to the order's payment and what payments tells the others."""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from orderly.kernel.ids import new_id
from orderly.messaging import Envelope
from orderly.ordering.messages import OrderCredited
from orderly.payments import store
from orderly.payments.context import CONTEXT
from orderly.payments.messages import PaymentCompleted, PaymentFailed, RefundCreated
from orderly.storage import Database, Row, sql
from tests.bus import Bus, consumers_of
from tests.messages import charge_payment, order_cancelled, order_confirmed, told

REFUNDS = sql("SELECT payment_id, amount_cents FROM refunds")


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    async with consumers_of(CONTEXT, tmp_path) as consumers:
        yield consumers


async def payment(db: Database, order_id: str) -> Row:
    row = await db.read(lambda tx: tx.fetch_one(store.PAYMENT_FOR_ORDER, {"order_id": order_id}))
    assert row is not None
    return row


def test_the_consumers_keep_the_names_their_queues_have(bus: Bus) -> None:
    assert bus.names == [
        "payments.charge_on_order_confirmed",
        "payments.refund_on_order_cancelled",
        "payments.refund_on_order_credited",
        "payments.charge_on_command",
    ]


async def test_a_confirmed_order_is_charged_once(bus: Bus) -> None:
    order_id = new_id()
    confirmed = order_confirmed(order_id, Decimal("12.34"))
    # when the confirmation comes, comes again, and a second one for the same order comes
    await bus.deliver(confirmed)
    await bus.deliver(confirmed)
    await bus.deliver(order_confirmed(order_id, Decimal("12.34")))
    # then the order is paid once, and payments said so once
    paid = await payment(bus.db, order_id)
    assert (paid["status"], paid["amount_cents"], paid["attempts"]) == ("captured", 1234, 1)
    assert paid["auth_ref"].startswith("auth_")
    [told] = await bus.published()
    completed = told.read(PaymentCompleted)
    assert told.type == PaymentCompleted.TYPE
    assert (completed.payment_id, completed.order_id) == (paid["id"], order_id)
    assert (completed.amount, completed.currency) == (Decimal("12.34"), "USD")


async def test_a_declined_card_fails_the_payment(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(order_confirmed(order_id, Decimal("5.00"), "tok_decline"))
    failed = await payment(bus.db, order_id)
    assert (failed["status"], failed["reason"]) == ("failed", "card_declined")
    [told] = await bus.published()
    assert told.type == PaymentFailed.TYPE
    assert told.read(PaymentFailed).reason == "card_declined"


async def test_an_order_paid_elsewhere_is_not_charged(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(order_confirmed(order_id, Decimal("5.00"), payment_method=None))
    assert (
        await bus.db.read(lambda tx: tx.fetch_one(store.PAYMENT_FOR_ORDER, {"order_id": order_id}))
        is None
    )
    assert await bus.published() == []


async def test_a_saga_hears_the_answer_to_its_charge_in_the_envelope(bus: Bus) -> None:
    order_id, saga_id = new_id(), new_id()
    command = charge_payment(order_id, Decimal("20.00"), saga_id)
    await bus.deliver(command)
    # a repeated command (the saga tried again) charges nothing and hears the same answer
    again = charge_payment(order_id, Decimal("20.00"), saga_id)
    await bus.deliver(again)
    first, second = await bus.published()
    assert [first.type, second.type] == [PaymentCompleted.TYPE, PaymentCompleted.TYPE]
    assert (first.saga_id, first.causation_id) == (saga_id, command.id)
    assert (second.saga_id, second.causation_id) == (saga_id, again.id)
    assert second.read(PaymentCompleted).status == "completed"
    assert (await payment(bus.db, order_id))["attempts"] == 1


async def test_a_declined_charge_command_is_answered_with_the_failure(bus: Bus) -> None:
    order_id, saga_id = new_id(), new_id()
    await bus.deliver(charge_payment(order_id, Decimal("20.00"), saga_id, "tok_decline"))
    [told] = await bus.published()
    assert (told.type, told.saga_id) == (PaymentFailed.TYPE, saga_id)
    assert told.read(PaymentFailed).reason == "card_declined"


async def test_a_cancelled_order_that_was_paid_is_refunded_once(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(order_confirmed(order_id, Decimal("7.50")))
    cancelled = order_cancelled(order_id)
    await bus.deliver(cancelled)
    await bus.deliver(cancelled)
    refunded = await payment(bus.db, order_id)
    assert (refunded["status"], refunded["reason"]) == ("refunded", "order_cancelled")
    refunds = await bus.db.read(lambda tx: tx.fetch_all(REFUNDS))
    assert [(r["payment_id"], r["amount_cents"]) for r in refunds] == [(refunded["id"], 750)]
    completed, told = await bus.published()
    assert (completed.type, told.type) == (PaymentCompleted.TYPE, RefundCreated.TYPE)
    refund = told.read(RefundCreated)
    assert (refund.payment_id, refund.order_id, refund.amount) == (
        refunded["id"],
        order_id,
        Decimal("7.50"),
    )


async def test_a_cancelled_order_whose_charge_failed_is_not_refunded(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(charge_payment(order_id, Decimal("3.00"), new_id(), "tok_timeout"))
    await bus.deliver(order_cancelled(order_id))
    assert (await payment(bus.db, order_id))["status"] == "failed"
    [told] = await bus.published()
    assert told.read(PaymentFailed).reason == "gateway_timeout"


def credited(order_id: str, amount: str) -> Envelope:
    body = OrderCredited(
        credit_id=new_id(),
        order_id=order_id,
        product_id="p-1",
        quantity=1,
        amount=Decimal(amount),
        currency="USD",
        reason="line_cancelled",
    )
    return told(body, order_id)


async def test_a_credit_refunds_a_part_once_and_a_later_cancel_the_rest(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(order_confirmed(order_id, Decimal("10.00")))
    credit = credited(order_id, "3.00")
    await bus.deliver(credit)
    await bus.deliver(credit)  # told twice: refunded once
    paid = await payment(bus.db, order_id)
    assert paid["status"] == "captured"  # seven dollars of it are still taken
    # a credit for more than is left gives back what is left, and all of it is back
    await bus.deliver(order_cancelled(order_id))
    await bus.deliver(credited(order_id, "5.00"))
    refunds = await bus.db.read(lambda tx: tx.fetch_all(REFUNDS))
    assert [r["amount_cents"] for r in refunds] == [300, 700]
    assert (await payment(bus.db, order_id))["status"] == "refunded"
    amounts = [
        m.read(RefundCreated).amount for m in await bus.published() if m.type == RefundCreated.TYPE
    ]
    assert amounts == [Decimal("3.00"), Decimal("7.00")]


async def test_a_credit_beyond_what_is_left_gives_back_the_rest(bus: Bus) -> None:
    order_id = new_id()
    await bus.deliver(order_confirmed(order_id, Decimal("4.00")))
    await bus.deliver(credited(order_id, "3.00"))
    await bus.deliver(credited(order_id, "3.00"))
    refunds = await bus.db.read(lambda tx: tx.fetch_all(REFUNDS))
    assert [r["amount_cents"] for r in refunds] == [300, 100]
    assert (await payment(bus.db, order_id))["status"] == "refunded"
