"""What placing an order takes and gives: the command, its answer, the flow it takes, and
the refusals that come before any order is written."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderly.kernel.errors import OrderlyError, Unprocessable
from orderly.kernel.principal import Principal
from orderly.ordering.domain import Channel, Line
from orderly.ordering.policy import Channels


class ChannelNotAllowed(OrderlyError):
    status = 403
    code = "channel_not_allowed"
    title = "Checkout channel not allowed"


class ProductNotPriced(Unprocessable):
    code = "product_not_priced"
    title = "Product has no price"


class PaymentMethodRequired(Unprocessable):
    code = "payment_method_required"
    title = "A payment method is required"


class OrderTooLarge(Unprocessable):
    code = "order_total_too_large"
    title = "Order total too large"


# Far past any real order (ten trillion dollars), and well inside the 64-bit integers both
# databases keep cents in: 500 lines at the largest price and quantity would overflow them.
MAX_TOTAL_CENTS = 10**15


@dataclass(frozen=True)
class PlaceOrder:
    lines: list[Line]
    shipping_address: dict[str, Any]
    owner: Principal
    idempotency_key: str | None = None
    channel: Channel | None = None
    payment_method: str | None = None
    cart_id: str | None = None
    from_cart: bool = False
    # a Schedule II order's CSOS signature: {orderNumber, signature} (b2b)
    csos: dict[str, str] | None = None
    # the operator who placed it on its owner's behalf (noted in its first history entry)
    placed_by: str | None = None
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def scoped_key(self) -> str | None:
        """Idempotency keys belong to the caller's account (or, without one, to the caller):
        the same key from two accounts never collides."""
        if not self.idempotency_key:
            return None
        scope = f"account:{self.owner.account}" if self.owner.account else self.owner.user_id
        return f"{scope}:{self.idempotency_key}"

    def fingerprint(self) -> str:
        if not self._fingerprint:
            # a checkout's lines are the cart's: the same request is the same cart checkout
            lines = [] if self.from_cart else [[ln.product_id, ln.quantity] for ln in self.lines]
            canonical = orjson.dumps(
                {
                    "lines": lines,
                    "to": self.shipping_address,
                    "channel": self.channel,
                    "pay": self.payment_method,
                    "cart": self.from_cart,
                    "csos": self.csos,
                },
                option=orjson.OPT_SORT_KEYS,
            )
            self._fingerprint.append(hashlib.sha256(canonical).hexdigest())
        return self._fingerprint[0]


@dataclass(frozen=True)
class B2BTerms:
    """What a B2B order's saga needs beyond the order: its lines' DEA schedules, and whether
    it waits for an approver."""

    schedules: dict[str, str | None]
    threshold_cents: int | None


@dataclass(frozen=True)
class Placed:
    response: dict[str, Any]
    replayed: bool
    # 202: the guarded checkout's outcome was not known within its wait
    accepted_only: bool = False


def channel_for(channels: Channels, caller: Principal, asked: Channel | None) -> Channel:
    """The flow an order takes: the one asked for, or the default of the caller's kind (an
    account's member: `b2b` unless the deployment says otherwise; a consumer: the
    deployment's default), if that kind of caller may use it."""
    allowed = channels.account if caller.account else channels.consumer
    if asked is None:  # the default, or else the first flow this kind of caller may use
        asked = channels.account_default if caller.account else channels.default
        if asked not in allowed:
            asked = next(c for c in Channel if c in allowed)
    channel = asked
    if channel not in allowed:
        raise ChannelNotAllowed(
            f"the {channel.value} checkout is not open to this caller",
            allowed=sorted(c.value for c in allowed),
        )
    return channel
