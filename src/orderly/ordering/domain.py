"""Order rules: what an order may hold, the one order state machine, the words each
checkout flow shows for its states, and the order itself (`Order`).

Every order moves through the same states, whatever flow placed it:

    pending ──> confirmed ──> processing ──> shipped ──> delivered
       │            │    └──> payment_failed    │
       └────────────┴──────────────┴──> cancelled

A `direct` order (seed 001) is checked for stock before it exists, so it starts in
`processing`. A `b2b` order (seed 000) may wait for an approver (`awaiting_approval`) or a
compliance analyst (`on_hold`) on its way from `pending` to `processing`, and ends `failed`
when its checkout's saga could not finish (an operator may replay it: `pending` again).
Only the transitions in `TRANSITIONS` are allowed; anything else is refused.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orderly.kernel.errors import Conflict, OrderlyError, Unprocessable
from orderly.kernel.money import money


class OrderStatus(StrEnum):
    PENDING = "pending"  # created; its stock is not reserved yet
    CONFIRMED = "confirmed"  # stock reserved; not paid yet
    PROCESSING = "processing"  # paid (or, direct, accepted): waiting for the warehouse
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    AWAITING_APPROVAL = "awaiting_approval"  # above its account's threshold: an approver decides
    ON_HOLD = "on_hold"  # suspicious order monitoring held it: an analyst decides
    FAILED = "failed"  # its checkout's saga failed and undid its steps


# A checkout whose order is still in one of these has not come out yet: its saga is under
# way (seed 003's guarded checkout answers once it is not, or after its wait).
UNDER_WAY = frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED})

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset(
        {
            S.CONFIRMED,
            S.PROCESSING,
            S.CANCELLED,
            S.PAYMENT_FAILED,
            S.AWAITING_APPROVAL,
            S.ON_HOLD,
            S.FAILED,
        }
    ),
    S.AWAITING_APPROVAL: frozenset({S.PENDING, S.FAILED, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.PENDING, S.FAILED, S.CANCELLED}),
    # replayed by an operator, or given up by its customer
    S.FAILED: frozenset({S.PENDING, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PROCESSING, S.CANCELLED, S.PAYMENT_FAILED}),
    # a delivery report may overtake the shipping one
    S.PROCESSING: frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.PAYMENT_FAILED: frozenset(),
}
TERMINAL = frozenset(s for s, after in TRANSITIONS.items() if not after)


def sources(wanted: OrderStatus) -> list[str]:
    """The states an order may move to `wanted` from."""
    return sorted(s.value for s, after in TRANSITIONS.items() if wanted in after)


# Customers may cancel until the warehouse has shipped; an order compliance holds is the
# analyst's to decide, never changed under it.
CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PROCESSING, S.AWAITING_APPROVAL, S.FAILED})
# Not paid yet (a direct order is accepted, on account, as it is placed: `processing`).
UNPAID = frozenset({S.PENDING, S.CONFIRMED, S.AWAITING_APPROVAL, S.ON_HOLD, S.FAILED})
_B2B_ONLY = {
    S.AWAITING_APPROVAL: "AWAITING_APPROVAL",
    S.ON_HOLD: "ON_HOLD",
    S.FAILED: "FAILED",
}


class Channel(StrEnum):
    """A sales channel's checkout flow."""

    DIRECT = "direct"  # seed 001: availability first, then the order
    B2C = "b2c"  # seed 002: choreographed over events
    GUARDED = "guarded"  # seed 003: orchestrated, with a circuit breaker
    B2B = "b2b"  # seed 000: orchestrated with compliance, price lock and the ERP


# The words each flow's seed uses for the states its orders pass through.
WORDS: dict[Channel, dict[OrderStatus, str]] = {
    Channel.DIRECT: {
        S.PENDING: "PENDING",
        S.CONFIRMED: "PENDING",
        S.PROCESSING: "PENDING_SHIPMENT",
        S.SHIPPED: "SHIPPED",
        S.DELIVERED: "DELIVERED",
        S.CANCELLED: "CANCELLED",
        S.PAYMENT_FAILED: "PAYMENT_FAILED",
        **_B2B_ONLY,
    },
    Channel.B2C: {status: status.value for status in OrderStatus},
    Channel.GUARDED: {
        S.PENDING: "PENDING",
        S.CONFIRMED: "PENDING",
        S.PROCESSING: "PLACED",
        S.SHIPPED: "SHIPPED",
        S.DELIVERED: "DELIVERED",
        S.CANCELLED: "CANCELLED",
        S.PAYMENT_FAILED: "PAYMENT_FAILED",
        **_B2B_ONLY,
    },
    # Seed 000's words: PENDING while its saga runs, CONFIRMED once the ERP has its sales
    # order (waiting for the warehouse), or FAILED; then the fulfillment words.
    Channel.B2B: {
        S.PENDING: "PENDING",
        S.CONFIRMED: "PENDING",
        S.PROCESSING: "CONFIRMED",
        S.SHIPPED: "SHIPPED",
        S.DELIVERED: "DELIVERED",
        S.CANCELLED: "CANCELLED",
        S.PAYMENT_FAILED: "FAILED",
        **_B2B_ONLY,
    },
}

# Seed 001's delivery reports (`order.status_updated`) in the machine's terms.
_REPORTED = {"SHIPPED": S.SHIPPED, "DELIVERED": S.DELIVERED}


def word(channel: str, status: str) -> str:
    """How `channel`'s endpoints show `status`."""
    return WORDS[Channel(channel)][OrderStatus(status)]


class InvalidTransition(Conflict):
    code = "invalid_order_transition"
    title = "The order cannot make that move"


class DuplicateProduct(Unprocessable):
    code = "duplicate_product"
    title = "A product appears on more than one line"


class InsufficientStock(OrderlyError):
    code = "insufficient_stock"
    title = "Product unavailable"


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int


def check_lines(lines: list[Line]) -> None:
    repeated = sorted(pid for pid, n in Counter(line.product_id for line in lines).items() if n > 1)
    if repeated:
        raise DuplicateProduct(
            f"each product may appear once per order: {', '.join(repeated)}",
            product_ids=repeated,
        )


def allowed(current: str, wanted: OrderStatus) -> bool:
    return wanted in TRANSITIONS[OrderStatus(current)]


def transition(current: str, wanted: OrderStatus) -> OrderStatus:
    """`wanted`, if the machine allows the move from `current`; else InvalidTransition."""
    if not allowed(current, wanted):
        raise InvalidTransition(
            f"a {current} order cannot become {wanted.value}", order_status=current
        )
    return wanted


def delivery_transition(current: str, reported: str) -> OrderStatus | None:
    """The state an order moves to when delivery reports `reported`, or None if the report
    is stale (an order never moves back from delivered to shipped) or means nothing here."""
    new = _REPORTED.get(reported)
    if new is None or not allowed(current, new):
        return None
    return new


@dataclass(frozen=True)
class Order:
    """An order as it stands: who placed it through which flow, where it is in the machine
    (`version` counts its moves), and what it costs."""

    id: str
    status: OrderStatus
    channel: Channel
    version: int
    owner_id: str = ""
    account_id: str | None = None
    total_cents: int | None = None
    currency: str | None = None
    payment_method: str | None = None
    cart_id: str | None = None
    # placed on the guarded flow's fallback data: its reservation says if the stock is there
    reverify: bool = False

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "Order":
        """From its stored row."""
        total = row["total_cents"]
        return cls(
            id=row["id"],
            status=OrderStatus(row["status"]),
            channel=Channel(row["channel"]),
            version=int(row["version"]),
            owner_id=row["owner_id"],
            account_id=row["account_id"],
            total_cents=None if total is None else int(total),
            currency=row["currency"],
            payment_method=row["payment_method"],
            cart_id=row["cart_id"],
            reverify=bool(row["reverify"]),
        )

    @property
    def word(self) -> str:
        """Its status as its flow's endpoints show it."""
        return WORDS[self.channel][self.status]

    @property
    def unpaid(self) -> bool:
        return self.status in UNPAID

    @property
    def cancellable(self) -> bool:
        """By its customer (or an operator): until the warehouse has shipped it."""
        return self.status in CANCELLABLE

    def may_become(self, wanted: OrderStatus) -> bool:
        return wanted in TRANSITIONS[self.status]

    def becoming(self, wanted: OrderStatus) -> OrderStatus:
        """`wanted`, if the machine allows the move; else InvalidTransition."""
        return transition(self.status.value, wanted)

    def delivered_to(self, reported: str) -> OrderStatus | None:
        """Where delivery's report (`SHIPPED`, `DELIVERED`) moves it; None: nowhere."""
        return delivery_transition(self.status.value, reported)

    def summary(self) -> dict[str, Any]:
        """What its checkout answers once its outcome is known."""
        return {
            "order_id": self.id,
            "status": self.word,
            "channel": self.channel.value,
            "total_amount": money(self.total_cents),
            "currency": self.currency,
        }
