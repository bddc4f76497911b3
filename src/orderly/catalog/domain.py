"""Catalog rules: money."""

from decimal import ROUND_HALF_EVEN, Decimal


def to_cents(price: Decimal) -> int:
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) / 100
