"""Suspicious order monitoring (pharma rules §3.5): an order of unusual size, frequency or
pattern for its account and drug family is held for an analyst, never trimmed. Pure."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

BASELINE_MONTHS = 6
FREQUENCY_DAYS = 30


@dataclass(frozen=True)
class SomSettings:
    """How suspicious an order must look to be held, per account and drug family."""

    size_factor: Decimal = Decimal(3)
    frequency_factor: Decimal = Decimal(2)
    first_order: bool = True


@dataclass(frozen=True)
class SomHistory:
    """An account's history of one drug family: dosage units and order counts per month
    (`YYYY-MM`, imported baseline and orders passed or released), and the orders of the
    last 30 days."""

    months: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    recent_orders: int = 0
    # any order of the family ever, older ones included
    seen: bool = False

    @property
    def known(self) -> bool:
        return self.seen or self.recent_orders > 0 or any(u or o for u, o in self.months.values())


@dataclass(frozen=True)
class SomHit:
    reason: str  # som_size | som_frequency | som_first_order
    detail: str
    figures: Mapping[str, Any]


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_months(day: date, count: int = BASELINE_MONTHS) -> list[str]:
    """The `count` complete months before `day`'s month, latest first."""
    year, month = day.year, day.month
    found = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        found.append(f"{year:04d}-{month:02d}")
    return found


def frequency_window(day: date) -> date:
    """The first day that counts as within the last 30 days of `day`."""
    return day - timedelta(days=FREQUENCY_DAYS)


def som_hit(
    settings: SomSettings, history: SomHistory, order_date: date, units: int, family: str
) -> SomHit | None:
    """Why an order of `units` dosage units of `family` is held, or None. Without any
    history the first-order rule alone decides; with history, months missing from the
    last six count as nothing, so a thin history holds more, not less."""
    if not history.known:
        if not settings.first_order:
            return None
        return SomHit(
            "som_first_order",
            f"This is your first order of {family}: it is held for review.",
            {"family": family, "units": units},
        )
    baseline = [history.months.get(m, (0, 0)) for m in previous_months(order_date)]
    average_units = Decimal(sum(u for u, _ in baseline)) / BASELINE_MONTHS
    average_orders = Decimal(sum(o for _, o in baseline)) / BASELINE_MONTHS
    to_date = history.months.get(month_key(order_date), (0, 0))[0]
    limit = settings.size_factor * average_units
    figures = {
        "family": family,
        "units": units,
        "monthToDate": to_date,
        "averageUnits": str(average_units),
        "sizeLimit": str(limit),
    }
    if to_date + units > limit:
        return SomHit(
            "som_size",
            f"This order of {family} is larger than your usual orders: it is held for review.",
            figures,
        )
    recent = history.recent_orders + 1
    orders_limit = settings.frequency_factor * average_orders
    if recent > orders_limit:
        return SomHit(
            "som_frequency",
            f"You have ordered {family} more often than usual: this order is held for review.",
            {**figures, "recentOrders": recent, "ordersLimit": str(orders_limit)},
        )
    return None
