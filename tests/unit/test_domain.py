"""Pure rules: order lines, delivery progress, shipments, availability."""

import pytest

from orderly.catalog.domain import to_cents
from orderly.fulfillment.domain import InvalidTransition, ShipmentStatus, advance
from orderly.ordering.domain import (
    DuplicateProduct,
    Line,
    OrderStatus,
    check_lines,
    delivery_transition,
)


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        pytest.param("PENDING_SHIPMENT", "SHIPPED", OrderStatus.SHIPPED, id="ship"),
        pytest.param("SHIPPED", "DELIVERED", OrderStatus.DELIVERED, id="deliver"),
        pytest.param(
            "PENDING_SHIPMENT", "DELIVERED", OrderStatus.DELIVERED, id="shipped-report-lost"
        ),
        pytest.param("DELIVERED", "SHIPPED", None, id="late-shipped-never-undoes-delivered"),
        pytest.param("SHIPPED", "SHIPPED", None, id="repeat-is-no-op"),
        pytest.param("SHIPPED", "LOST_IN_SPACE", None, id="unknown-status-ignored"),
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
