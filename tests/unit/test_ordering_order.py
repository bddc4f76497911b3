"""The order aggregate: made from its row, it knows where it may move and how it is shown."""

from decimal import Decimal
from typing import Any

import pytest

from orderly.ordering.domain import Channel, InvalidTransition, Order, OrderStatus


def row(**changes: Any) -> dict[str, Any]:
    """An order's row as the database gives it (SQLite: booleans as integers)."""
    return {
        "id": "o-1",
        "status": "pending",
        "channel": "b2c",
        "version": 1,
        "owner_id": "u-1",
        "account_id": None,
        "total_cents": 2500,
        "currency": "USD",
        "payment_method": "tok_visa",
        "cart_id": None,
        "reverify": 0,
        "shipping_address": {"line1": "1 Main St"},
    } | changes


def test_an_order_is_made_from_its_row() -> None:
    order = Order.of(row(reverify=1, cart_id="c-1"))
    assert order.status is OrderStatus.PENDING
    assert order.channel is Channel.B2C
    assert (order.id, order.owner_id, order.cart_id, order.reverify) == ("o-1", "u-1", "c-1", True)


@pytest.mark.parametrize(
    ("channel", "status", "word"),
    [
        pytest.param("direct", "processing", "PENDING_SHIPMENT", id="direct-accepted"),
        pytest.param("direct", "confirmed", "PENDING", id="direct-confirmed"),
        pytest.param("b2c", "payment_failed", "payment_failed", id="b2c-own-words"),
        pytest.param("guarded", "processing", "PLACED", id="guarded-placed"),
        pytest.param("b2b", "shipped", "SHIPPED", id="b2b-upper-case"),
    ],
)
def test_an_order_shows_its_status_in_its_flows_words(channel: str, status: str, word: str) -> None:
    assert Order.of(row(channel=channel, status=status)).word == word


@pytest.mark.parametrize(
    ("status", "wanted", "may"),
    [
        pytest.param("pending", OrderStatus.CONFIRMED, True, id="reserve"),
        pytest.param("confirmed", OrderStatus.PROCESSING, True, id="pay"),
        pytest.param("processing", OrderStatus.CANCELLED, True, id="cancel-before-shipping"),
        pytest.param("shipped", OrderStatus.CANCELLED, False, id="no-cancel-once-shipped"),
        pytest.param("cancelled", OrderStatus.CONFIRMED, False, id="cancelled-stays"),
        pytest.param("delivered", OrderStatus.SHIPPED, False, id="never-back"),
    ],
)
def test_an_order_moves_only_as_the_machine_allows(
    status: str, wanted: OrderStatus, may: bool
) -> None:
    order = Order.of(row(status=status))
    assert order.may_become(wanted) is may
    if may:
        assert order.becoming(wanted) is wanted
    else:
        with pytest.raises(InvalidTransition):
            order.becoming(wanted)


@pytest.mark.parametrize(
    ("status", "unpaid", "cancellable"),
    [
        pytest.param("pending", True, True, id="pending"),
        pytest.param("confirmed", True, True, id="confirmed"),
        pytest.param("processing", False, True, id="processing"),
        pytest.param("shipped", False, False, id="shipped"),
        pytest.param("cancelled", False, False, id="cancelled"),
    ],
)
def test_an_order_is_unpaid_until_processing_and_cancellable_until_shipped(
    status: str, unpaid: bool, cancellable: bool
) -> None:
    order = Order.of(row(status=status))
    assert (order.unpaid, order.cancellable) == (unpaid, cancellable)


@pytest.mark.parametrize(
    ("status", "reported", "moved"),
    [
        pytest.param("processing", "SHIPPED", OrderStatus.SHIPPED, id="ship"),
        pytest.param("processing", "DELIVERED", OrderStatus.DELIVERED, id="shipped-report-lost"),
        pytest.param("delivered", "SHIPPED", None, id="late-report"),
        pytest.param("pending", "SHIPPED", None, id="unpaid"),
    ],
)
def test_delivery_reports_move_an_order_forward_only(
    status: str, reported: str, moved: OrderStatus | None
) -> None:
    assert Order.of(row(status=status)).delivered_to(reported) == moved


def test_an_order_sums_itself_up_as_its_checkout_answers() -> None:
    summary = Order.of(row(channel="guarded", status="payment_failed")).summary()
    assert summary == {
        "order_id": "o-1",
        "status": "PAYMENT_FAILED",
        "channel": "guarded",
        "total_amount": str(Decimal("25.00")),
        "currency": "USD",
    }


def test_an_unpriced_order_has_no_total() -> None:
    order = Order.of(row(channel="direct", status="processing", total_cents=None))
    assert order.summary()["total_amount"] is None
