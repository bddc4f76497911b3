"""Suspicious order monitoring's data: the settings per account and drug family, the
history a check compares an order with, and the operator's import of a baseline."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from orderly.compliance import store
from orderly.compliance.som import (
    SomHistory,
    SomSettings,
    frequency_window,
    month_key,
    previous_months,
)
from orderly.storage import Database, Tx


async def settings_for(tx: Tx, account_id: str, family: str) -> SomSettings:
    row = await tx.fetch_one(store.SOM_SETTINGS, {"account_id": account_id, "family": family})
    if row is None:
        return SomSettings()
    return SomSettings(
        size_factor=Decimal(row["size_factor"]),
        frequency_factor=Decimal(row["frequency_factor"]),
        first_order=bool(row["first_order"]),
    )


async def history_for(tx: Tx, account_id: str, family: str, order_date: date) -> SomHistory:
    """The family's last six complete months and this one (baseline and orders added up),
    and its orders of the last 30 days."""
    first_month = previous_months(order_date)[-1]
    key = {"account_id": account_id, "family": family}
    months: dict[str, tuple[int, int]] = {}
    for row in await tx.fetch_all(store.BASELINE, {**key, "since": first_month}):
        months[row["month"]] = (int(row["units"]), int(row["orders"]))
    window = frequency_window(order_date)
    since = min(f"{first_month}-01", window.isoformat())
    recent = 0
    for row in await tx.fetch_all(store.SOM_ORDERS, {**key, "since": since}):
        day = date.fromisoformat(row["day"])
        units, orders = months.get(month_key(day), (0, 0))
        months[month_key(day)] = (units + int(row["units"]), orders + 1)
        recent += day >= window
    seen = await tx.fetch_one(store.SOM_SEEN, key) is not None
    return SomHistory(months=months, recent_orders=recent, seen=seen)


async def record_orders(
    tx: Tx, order_id: str, run: int, account_id: str, day: date, units: Mapping[str, int]
) -> None:
    """A passed or released order joins its families' history."""
    rows = [
        {
            "order_id": order_id,
            "run": run,
            "family": family,
            "account_id": account_id,
            "day": day.isoformat(),
            "units": n,
        }
        for family, n in units.items()
    ]
    if rows:
        await tx.execute_many(store.INSERT_SOM_ORDER, rows)


async def set_settings(
    db: Database, account_id: str, family: str | None, settings: SomSettings
) -> None:
    """An account's SOM settings for a family, or (no family) for all its families."""
    await db.transaction(
        lambda tx: tx.execute(
            store.SET_SOM,
            {
                "account_id": account_id,
                "family": family or "",
                "size_factor": str(settings.size_factor),
                "frequency_factor": str(settings.frequency_factor),
                "first_order": settings.first_order,
            },
        )
    )


@dataclass(frozen=True)
class BaselineMonth:
    family: str
    month: str  # YYYY-MM
    units: int
    orders: int


async def import_baseline(db: Database, account_id: str, months: Sequence[BaselineMonth]) -> None:
    """Prior months' dosage units and order counts, replacing those months' baseline."""
    rows = [
        {
            "account_id": account_id,
            "family": m.family,
            "month": m.month,
            "units": m.units,
            "orders": m.orders,
        }
        for m in months
    ]
    await db.transaction(lambda tx: tx.execute_many(store.SET_BASELINE, rows))
