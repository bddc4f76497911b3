"""Money is exact: integer cents in storage and messages' arithmetic, Decimal at the edges."""

from decimal import ROUND_HALF_EVEN, Decimal


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def money(cents: int | None) -> str | None:
    """How an amount goes over the wire: a decimal string ("12.50"), never a float."""
    return None if cents is None else str(from_cents(cents))
