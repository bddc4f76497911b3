"""Catalog rules: money, DEA schedules."""

from decimal import ROUND_HALF_EVEN, Decimal

from orderly.kernel.errors import Unprocessable


def to_cents(price: Decimal) -> int:
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) / 100


# DEA schedules a product may carry (pharma rules §3.1); Schedule I is never sold.
DEA_SCHEDULES = ("CII", "CIII", "CIV", "CV")


class InvalidProduct(Unprocessable):
    code = "invalid_product"
    title = "Product data is not valid"


def check_schedule(schedule: str | None) -> None:
    if schedule is None or schedule in DEA_SCHEDULES:
        return
    if schedule == "CI":
        raise InvalidProduct("Schedule I substances are never sold")
    raise InvalidProduct(f"DEA schedule is one of {', '.join(DEA_SCHEDULES)}, or none")
