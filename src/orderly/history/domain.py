"""What the history keeps and what its projections make of it: pure rules, no I/O.

Every domain event that names an order is kept. Seed 004 names five of them (`OrderReceived`,
`OrderValidated`, `OrderWaveAssigned`, `OrderShipped`, `OrderCompleted`); Orderly's events of
the same moments carry those names beside their own.

The projections fold an order's events into its `Facts` (the order view), and the facts into
the counts one order adds to its day, channel and account (analytics). Events may arrive in
any order: from several publishers, through queues that each keep their own order. So a fold
never depends on arrival order where it can help it: each moment is kept with its time, and the
status is read from the moments, not from whichever event came last.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from msgspec.structs import replace

# The events kept, each with seed 004's name for it where the seed has one. Commands (a
# saga's requests to a context) are not kept: their answers are.
RECORDED: dict[str, str] = {
    "order.created": "OrderReceived",
    "order.confirmed": "OrderValidated",
    "order.approved": "",
    "order.rejected": "",
    "order.cancelled": "",
    "order.failed": "",
    "order.credited": "",
    "compliance.passed": "",
    "compliance.rejected": "",
    "compliance.held": "",
    "compliance.voided": "",
    "inventory.reserved": "",
    "inventory.insufficient": "",
    "inventory.released": "",
    "price.locked": "",
    "price.lock_failed": "",
    "price.lock_voided": "",
    "erp.sales_order.created": "",
    "erp.sales_order.failed": "",
    "erp.sales_order.cancelled": "",
    "erp.sales_order.credited": "",
    "payment.completed": "",
    "payment.failed": "",
    "refund.created": "",
    "wave.released": "OrderWaveAssigned",
    "pick.completed": "",
    "pick.cancelled": "",
    "pack.completed": "",
    "pack.cancelled": "",
    "fulfillment.shipped": "OrderShipped",
    "fulfillment.delivered": "OrderCompleted",
    "fulfillment.escalated": "",
    "fulfillment.backordered": "",
    "fulfillment.backorder_cancelled": "",
    "fulfillment.line_cancelled": "",
    "fulfillment.shipment.cancelled": "",
    "fulfillment.shipment.failed": "",
    "order.status_updated": "",
}

# The events that change an order's facts; the others are only kept.
FOLDED = frozenset(
    {
        "order.created",
        "order.confirmed",
        "order.cancelled",
        "order.failed",
        "compliance.passed",
        "compliance.held",
        "payment.completed",
        "refund.created",
        "wave.released",
        "fulfillment.shipped",
        "fulfillment.delivered",
        "order.status_updated",
        "fulfillment.backordered",
        "fulfillment.line_cancelled",
    }
)

# An order's status in the order view, from its moments (`status`).
RECEIVED = "RECEIVED"
ON_HOLD = "ON_HOLD"
CONFIRMED = "CONFIRMED"
PAID = "PAID"
WAVED = "WAVED"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
STATUSES = (RECEIVED, ON_HOLD, CONFIRMED, PAID, WAVED, SHIPPED, DELIVERED, CANCELLED, FAILED)


def order_ids(data: dict[str, Any]) -> list[str]:
    """The orders an event's data names: one (`orderId`, or seed 001's `order_id`), or a
    wave's (`orderIds`); none for an event about something else."""
    many = data.get("orderIds")
    if isinstance(many, list):
        return sorted({str(order_id) for order_id in many if order_id})
    one = data.get("orderId") or data.get("order_id")
    return [str(one)] if one else []


class Facts(msgspec.Struct, frozen=True):
    """What the events say about one order so far (a row of the order view). A struct, not
    a dataclass: the history folds one into a new one at every event it keeps, and a
    struct's `replace` costs a tenth of a dataclass's."""

    order_id: str
    user_id: str | None = None
    account_id: str | None = None
    channel: str | None = None
    currency: str | None = None
    lines: int = 0
    units: int = 0
    total_cents: int = 0
    placed_at: datetime | None = None
    held_at: datetime | None = None
    passed_at: datetime | None = None
    confirmed_at: datetime | None = None
    paid_at: datetime | None = None
    waved_at: datetime | None = None
    wave_id: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    failed_at: datetime | None = None
    reason: str | None = None
    sales_order_number: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    units_short: int = 0
    refunded_cents: int = 0
    # when the last event that moved these facts was sent
    last_event_at: datetime | None = None

    @property
    def status(self) -> str:
        return status(self)

    def row(self) -> dict[str, Any]:
        # each fact as it is (they are strings, numbers and times)
        row = {name: getattr(self, name) for name in FACT_COLUMNS}
        row["status"] = status(self)
        return row

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "Facts":
        return cls(**{name: row[name] for name in FACT_COLUMNS})


FACT_COLUMNS = Facts.__struct_fields__


def _earliest(kept: datetime | None, at: datetime) -> datetime:
    return at if kept is None or at < kept else kept


def _latest(kept: datetime | None, at: datetime) -> datetime:
    return at if kept is None or at > kept else kept


def _cents(amount: Any) -> int:
    try:
        return int((Decimal(str(amount)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return 0


def _quantity(data: dict[str, Any]) -> int:
    quantity = data.get("quantity")
    return quantity if isinstance(quantity, int) and quantity > 0 else 0


def fold(facts: Facts, kind: str, data: dict[str, Any], at: datetime) -> Facts:
    """`facts` after one more event about the order (of type `kind`, sent at `at`)."""
    facts = replace(facts, last_event_at=_latest(facts.last_event_at, at))
    if kind == "order.created":
        items = data.get("items") or []
        total = data.get("totalAmount")
        return replace(
            facts,
            user_id=data.get("userId"),
            account_id=data.get("accountId"),
            channel=data.get("channel"),
            currency=data.get("currency"),
            lines=len(items),
            units=sum(int(item.get("quantity") or 0) for item in items),
            total_cents=0 if total is None else _cents(total),
            placed_at=_earliest(facts.placed_at, at),
        )
    if kind == "order.confirmed":
        return replace(
            facts,
            confirmed_at=_latest(facts.confirmed_at, at),
            total_cents=_cents(data.get("totalAmount", 0)) or facts.total_cents,
            sales_order_number=data.get("salesOrderNumber") or facts.sales_order_number,
        )
    if kind == "order.cancelled":
        return replace(
            facts, cancelled_at=_earliest(facts.cancelled_at, at), reason=data.get("reason")
        )
    if kind == "order.failed":
        return replace(facts, failed_at=_latest(facts.failed_at, at), reason=data.get("reason"))
    if kind == "compliance.held":
        return replace(facts, held_at=_latest(facts.held_at, at))
    if kind == "compliance.passed":
        return replace(facts, passed_at=_latest(facts.passed_at, at))
    if kind == "payment.completed":
        return replace(facts, paid_at=_earliest(facts.paid_at, at))
    if kind == "refund.created":
        return replace(facts, refunded_cents=facts.refunded_cents + _cents(data.get("amount", 0)))
    if kind == "wave.released":
        return replace(facts, waved_at=_earliest(facts.waved_at, at), wave_id=data.get("waveId"))
    if kind == "fulfillment.shipped":
        return replace(
            facts,
            shipped_at=_earliest(facts.shipped_at, at),
            carrier=data.get("carrier"),
            tracking_number=data.get("trackingNumber"),
        )
    if kind == "fulfillment.delivered":
        return replace(facts, delivered_at=_earliest(facts.delivered_at, at))
    if kind == "order.status_updated":
        if data.get("current_status") == SHIPPED:
            return replace(facts, shipped_at=_earliest(facts.shipped_at, at))
        if data.get("current_status") == DELIVERED:
            return replace(facts, delivered_at=_earliest(facts.delivered_at, at))
        return facts
    if kind in ("fulfillment.backordered", "fulfillment.line_cancelled"):
        return replace(facts, units_short=facts.units_short + _quantity(data))
    return facts


def _after(moment: datetime | None, other: datetime | None) -> bool:
    return moment is not None and (other is None or moment > other)


def outcome(facts: Facts) -> str:
    """How the order came out so far: cancelled, failed (unless a later retry confirmed it),
    confirmed, or open."""
    if facts.cancelled_at is not None:
        return CANCELLED
    if _after(facts.failed_at, facts.confirmed_at):
        return FAILED
    if facts.confirmed_at is not None:
        return CONFIRMED
    return RECEIVED


def status(facts: Facts) -> str:
    """The order's furthest moment: delivered, cancelled or failed, shipped, waved, paid,
    confirmed, on hold (held and not passed since), or received."""
    if facts.delivered_at is not None:
        return DELIVERED
    ended = outcome(facts)
    if ended in (CANCELLED, FAILED):
        return ended
    for moment, word in (
        (facts.shipped_at, SHIPPED),
        (facts.waved_at, WAVED),
        (facts.paid_at, PAID),
        (facts.confirmed_at, CONFIRMED),
    ):
        if moment is not None:
            return word
    if _after(facts.held_at, facts.passed_at):
        return ON_HOLD
    return RECEIVED


# What one order adds to its day's figures (analytics), in this order.
COUNTS = (
    "orders",
    "units",
    "revenue_cents",
    "confirmed",
    "cancelled",
    "failed",
    "shipped",
    "delivered",
    "units_short",
    "refunded_cents",
)
Key = tuple[date, str, str]  # day, channel, account ("" for none)


def contribution(facts: Facts) -> tuple[Key, tuple[int, ...]] | None:
    """The order's share of its placement day's figures; None before `order.created` is
    known (the order has no day yet). Revenue is the total of an order confirmed and neither
    cancelled nor failed since; refunds are counted apart."""
    if facts.placed_at is None:
        return None
    ended = outcome(facts)
    kept = ended == CONFIRMED
    counts = (
        1,
        facts.units,
        facts.total_cents if kept else 0,
        int(kept),
        int(ended == CANCELLED),
        int(ended == FAILED),
        int(facts.shipped_at is not None),
        int(facts.delivered_at is not None),
        facts.units_short,
        facts.refunded_cents,
    )
    key = (facts.placed_at.date(), facts.channel or "", facts.account_id or "")
    return key, counts


def changes(before: Facts, after: Facts) -> dict[Key, tuple[int, ...]]:
    """What the analytics must add, per key, when an order's facts go from `before` to
    `after`: nothing when its share did not change."""
    old, new = contribution(before), contribution(after)
    if old == new:
        return {}
    delta: dict[Key, list[int]] = {}
    for share, sign in ((old, -1), (new, 1)):
        if share is None:
            continue
        key, counts = share
        sums = delta.setdefault(key, [0] * len(COUNTS))
        for i, count in enumerate(counts):
            sums[i] += sign * count
    return {key: tuple(sums) for key, sums in delta.items() if any(sums)}


def rates(row: Mapping[str, Any]) -> dict[str, float | None]:
    """A day's rates from its counts: fill (units not short of those ordered), cancellation
    and failure (of the orders placed)."""
    orders, units = row["orders"], row["units"]
    return {
        "fill_rate": None if not units else round(1 - row["units_short"] / units, 4),
        "cancellation_rate": None if not orders else round(row["cancelled"] / orders, 4),
        "failure_rate": None if not orders else round(row["failed"] / orders, 4),
    }
