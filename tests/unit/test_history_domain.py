"""The history's folds: an order's status and its share of the day's figures do not depend on
the order its events arrive in, and a change of outcome moves the figures it should."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderly.history import domain
from orderly.history.domain import Facts

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)
CREATED = (
    "order.created",
    {
        "userId": "u",
        "accountId": "PH-1",
        "channel": "b2b",
        "currency": "USD",
        "items": [{"productId": "p", "quantity": 3}],
        "totalAmount": "30.00",
    },
)
# A life of an order, its events in the order they were sent.
LIFE = [
    CREATED,
    ("compliance.held", {}),
    ("compliance.passed", {}),
    ("order.failed", {"reason": "erp_timeout"}),
    ("order.confirmed", {"totalAmount": "30.00", "salesOrderNumber": "4500000001"}),
    ("wave.released", {"waveId": "w-1", "orderIds": ["o"]}),
    ("fulfillment.backordered", {"quantity": 1}),
    ("fulfillment.shipped", {"carrier": "UPS", "trackingNumber": "1Z"}),
]


def folded(events: list[tuple[int, tuple[str, dict[str, object]]]]) -> Facts:
    facts = Facts("o")
    for minute, (kind, data) in events:
        facts = domain.fold(facts, kind, data, T0 + timedelta(minutes=minute))
    return facts


@given(st.permutations(list(enumerate(LIFE))))
def test_status_and_figures_do_not_depend_on_arrival(
    arrived: list[tuple[int, tuple[str, dict[str, object]]]],
) -> None:
    in_order = folded(list(enumerate(LIFE)))
    shuffled = folded(arrived)
    assert shuffled.status == in_order.status == domain.SHIPPED
    assert domain.contribution(shuffled) == domain.contribution(in_order)


def test_a_retry_that_confirms_a_failed_order_moves_it_from_failed_to_revenue() -> None:
    placed = domain.fold(Facts("o"), *CREATED, T0)
    failed = domain.fold(
        placed, "order.failed", {"reason": "erp_timeout"}, T0 + timedelta(minutes=1)
    )
    assert failed.status == domain.FAILED
    retried = domain.fold(
        failed, "order.confirmed", {"totalAmount": "30.00"}, T0 + timedelta(minutes=5)
    )
    assert retried.status == domain.CONFIRMED
    [(key, delta)] = domain.changes(failed, retried).items()
    assert key == (T0.date(), "b2b", "PH-1")
    moved = dict(zip(domain.COUNTS, delta, strict=True))
    assert {k: v for k, v in moved.items() if v} == {
        "revenue_cents": 3000,
        "confirmed": 1,
        "failed": -1,
    }


def test_an_event_before_the_order_is_known_counts_once_it_is() -> None:
    early = domain.fold(Facts("o"), "order.cancelled", {"reason": "customer"}, T0)
    assert domain.contribution(early) is None
    known = domain.fold(early, *CREATED, T0 - timedelta(minutes=1))
    [(_, delta)] = domain.changes(early, known).items()
    moved = dict(zip(domain.COUNTS, delta, strict=True))
    assert (moved["orders"], moved["cancelled"], moved["revenue_cents"]) == (1, 1, 0)
    assert known.status == domain.CANCELLED


def test_rates() -> None:
    row = {"orders": 4, "units": 10, "units_short": 1, "cancelled": 1, "failed": 0}
    assert domain.rates(row) == {"fill_rate": 0.9, "cancellation_rate": 0.25, "failure_rate": 0.0}
    assert domain.rates({**row, "orders": 0, "units": 0})["fill_rate"] is None


def test_the_orders_an_event_names() -> None:
    assert domain.order_ids({"orderId": "a"}) == ["a"]
    assert domain.order_ids({"order_id": "b"}) == ["b"]
    assert domain.order_ids({"orderIds": ["d", "c", "d"]}) == ["c", "d"]
    assert domain.order_ids({"productId": "p"}) == []
