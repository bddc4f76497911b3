"""Pricing's public messages."""

from datetime import date
from decimal import Decimal

from orderly.messaging import Message, Part

SOURCE = "pricing-service"


class LockedLine(Part):
    line: str
    product_id: str
    quantity: int
    price: Decimal
    source: str
    contract_id: str | None
    effective_date: date
    status: str


class PriceLocked(Message):
    """The order's prices are fixed, line by line, with where each came from."""

    TYPE = "price.locked"

    order_id: str
    items: list[LockedLine]


class PriceLockVoided(Message):
    """The compensation of `price.locked`: the order was cancelled."""

    TYPE = "price.lock_voided"

    order_id: str


class LockLine(Part):
    """A line as the order was priced: pricing locks it if the buyer's price today is the
    same, and refuses the lock if it is not."""

    product_id: str
    quantity: int
    price: Decimal
    price_source: str | None = None
    contract_id: str | None = None
    price_effective_date: date | None = None


class LockPrices(Message):
    """The B2B checkout saga's final price: lock the order's lines at the prices it was placed
    at; answered with `price.locked` or `price.lock_failed`."""

    TYPE = "price.lock"

    order_id: str
    run: int
    account_id: str | None
    items: list[LockLine]


class PriceLockFailed(Message):
    """The lock was refused: `price_changed` (the buyer's price today differs from the
    order's) or `no_price`."""

    TYPE = "price.lock_failed"

    order_id: str
    run: int
    reason: str
    product_ids: list[str]


class VoidPriceLock(Message):
    """The compensation of `price.lock`; answered with `price.lock_voided`."""

    TYPE = "price.lock_void"

    order_id: str
    run: int
    reason: str


class PriceWacChanged(Message):
    """The product's WAC in force changed (an operator set it, or a WAC set ahead of its day
    took effect); catalog shows it as the product's price."""

    TYPE = "price.wac_changed"

    product_id: str
    price: Decimal
    effective_date: date


MESSAGES = (
    PriceLocked,
    PriceLockVoided,
    PriceWacChanged,
    LockPrices,
    PriceLockFailed,
    VoidPriceLock,
)
PUBLISHES = (PriceLocked.TYPE, PriceLockVoided.TYPE, PriceWacChanged.TYPE, PriceLockFailed.TYPE)
