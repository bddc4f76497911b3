"""Catalog rules: money, availability."""

from decimal import ROUND_HALF_EVEN, Decimal

from orderly.catalog.messages import AvailabilityLine, AvailabilityReport


def to_cents(price: Decimal) -> int:
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) / 100


def available(on_hand: int, allocated: int) -> int:
    """Units that can still be promised; never negative, even when stock was oversold."""
    return max(0, on_hand - allocated)


def availability_report(
    requested: list[tuple[str, int]], stock: dict[str, tuple[int, int]]
) -> AvailabilityReport:
    lines: list[AvailabilityLine] = []
    for product_id, quantity in requested:
        units = available(*stock[product_id])
        lines.append(
            {
                "product_id": product_id,
                "requested": quantity,
                "available": units,
                "is_available": units >= quantity,
            }
        )
    return {"all_available": all(line["is_available"] for line in lines), "items": lines}
