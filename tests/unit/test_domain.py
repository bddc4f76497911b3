"""Pure rules: order lines, delivery progress, shipments, availability."""

import pytest

from orderly.catalog.domain import to_cents
from orderly.fulfillment.domain import InvalidTransition, ShipmentStatus, advance
from orderly.ordering.domain import (
    TERMINAL,
    TRANSITIONS,
    Channel,
    DuplicateProduct,
    Line,
    OrderStatus,
    check_lines,
    delivery_transition,
    sources,
    transition,
    word,
)
from orderly.ordering.domain import InvalidTransition as InvalidOrderTransition


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        pytest.param("processing", "SHIPPED", OrderStatus.SHIPPED, id="ship"),
        pytest.param("shipped", "DELIVERED", OrderStatus.DELIVERED, id="deliver"),
        pytest.param("processing", "DELIVERED", OrderStatus.DELIVERED, id="shipped-report-lost"),
        pytest.param("delivered", "SHIPPED", None, id="late-shipped-never-undoes-delivered"),
        pytest.param("shipped", "SHIPPED", None, id="repeat-is-no-op"),
        pytest.param("shipped", "LOST_IN_SPACE", None, id="unknown-status-ignored"),
        pytest.param("pending", "SHIPPED", None, id="unpaid-order-never-ships"),
        pytest.param("cancelled", "SHIPPED", None, id="cancelled-order-never-ships"),
    ],
)
def test_delivery_only_moves_forward(
    current: str, reported: str, expected: OrderStatus | None
) -> None:
    assert delivery_transition(current, reported) == expected


def test_a_product_may_appear_once_per_order() -> None:
    check_lines([Line("a", 1), Line("b", 2)])
    with pytest.raises(DuplicateProduct) as refused:
        check_lines([Line("a", 1), Line("b", 2), Line("a", 3)])
    assert refused.value.extensions["product_ids"] == ["a"]


def test_shipments_advance_one_step_at_a_time() -> None:
    assert advance("PENDING_SHIPMENT", ShipmentStatus.SHIPPED) is ShipmentStatus.SHIPPED
    assert advance("SHIPPED", ShipmentStatus.DELIVERED) is ShipmentStatus.DELIVERED
    for current, wanted in [
        ("PENDING_SHIPMENT", ShipmentStatus.DELIVERED),
        ("DELIVERED", ShipmentStatus.DELIVERED),
        ("SHIPPED", ShipmentStatus.SHIPPED),
    ]:
        with pytest.raises(InvalidTransition):
            advance(current, wanted)


def test_prices_become_whole_cents() -> None:
    from decimal import Decimal

    assert to_cents(Decimal("42.30")) == 4230
    assert to_cents(Decimal("0.01")) == 1


def test_the_state_machine_allows_its_table_and_refuses_everything_else() -> None:
    for current in OrderStatus:
        for wanted in OrderStatus:
            if wanted in TRANSITIONS[current]:
                assert transition(current, wanted) is wanted
            else:
                with pytest.raises(InvalidOrderTransition):
                    transition(current, wanted)
    assert {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED} == TERMINAL
    # where a move may start from, as the PostgreSQL shortcut asks it
    assert sources(OrderStatus.PROCESSING) == ["confirmed", "pending"]
    for wanted in OrderStatus:
        assert all(wanted in TRANSITIONS[OrderStatus(s)] for s in sources(wanted))


@pytest.mark.parametrize(
    ("channel", "path"),
    [
        pytest.param(
            Channel.DIRECT,
            ["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"],
            id="seed-001",
        ),
        pytest.param(
            Channel.B2C, ["pending", "confirmed", "processing", "cancelled"], id="seed-002"
        ),
        pytest.param(
            Channel.GUARDED, ["PENDING", "PENDING", "PLACED", "PAYMENT_FAILED"], id="seed-003"
        ),
    ],
)
def test_each_flow_shows_its_own_seeds_words(channel: Channel, path: list[str]) -> None:
    states = {
        Channel.DIRECT: ["processing", "shipped", "delivered"],
        Channel.B2C: ["pending", "confirmed", "processing", "cancelled"],
        Channel.GUARDED: ["pending", "confirmed", "processing", "payment_failed"],
    }[channel]
    assert [word(channel, s) for s in states] == path
