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


class PriceWacChanged(Message):
    """The product's WAC in force changed (an operator set it, or a WAC set ahead of its day
    took effect); catalog shows it as the product's price."""

    TYPE = "price.wac_changed"

    product_id: str
    price: Decimal
    effective_date: date


MESSAGES = (PriceLocked, PriceLockVoided, PriceWacChanged)
PUBLISHES = tuple(m.TYPE for m in MESSAGES)
