"""Reading the history and its projections: an order's events, the order view and the daily
analytics, each scoped to what the caller may see."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from orderly.history import domain, store
from orderly.history.domain import COUNTS, FACT_COLUMNS
from orderly.history.recording import ANALYTICS, ORDERS, generations
from orderly.kernel.clock import iso_z
from orderly.kernel.errors import NotFound, OrderlyError, Unprocessable
from orderly.kernel.principal import Principal
from orderly.storage import Database, Row, Tx, sql


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class ReportNotAllowed(OrderlyError):
    status = 403
    code = "report_not_allowed"
    title = "Reports are for operators and account members"


class InvalidDayRange(Unprocessable):
    code = "invalid_date_range"
    title = "The range ends before it starts"


async def events_of(db: Database, caller: Principal, order_id: str) -> list[dict[str, Any]]:
    """The order's events, oldest first; the order's own caller, account or an operator
    only (to anyone else the order does not exist)."""

    async def work(tx: Tx) -> list[dict[str, Any]]:
        live = await generations(tx)
        view = await tx.fetch_one(store.VIEW, {"generation": live[ORDERS], "order_id": order_id})
        may = caller.is_operator or (
            view is not None and caller.may_see(view["user_id"], view["account_id"])
        )
        if not may:
            raise OrderNotFound(f"order {order_id} does not exist")
        rows = await tx.fetch_all(store.EVENTS_OF, {"order_id": order_id})
        if not rows:
            raise OrderNotFound(f"order {order_id} does not exist")
        return [_event(row) for row in rows]

    return await db.read(work)


def _event(row: Row) -> dict[str, Any]:
    envelope = row["envelope"]
    return {
        "seq": row["seq"],
        "event_id": envelope["id"],
        "event_type": row["type"],
        "name": domain.RECORDED.get(row["type"]) or None,
        "source": row["source"],
        "occurred_at": iso_z(row["occurred_at"]),
        "recorded_at": iso_z(row["recorded_at"]),
        "data": envelope.get("data") or {},
        "correlation_id": envelope.get("correlation_id") or None,
        "causation_id": envelope.get("causation_id") or None,
        "saga_id": envelope.get("saga_id") or None,
    }


@dataclass(frozen=True)
class Window:
    """Days of placement, both ends included; channels and accounts (none: any)."""

    first: date | None = None
    last: date | None = None
    channel: str | None = None
    account: str | None = None

    def check(self) -> None:
        if self.first and self.last and self.last < self.first:
            raise InvalidDayRange(f"{self.last} is before {self.first}")


def _scope(caller: Principal) -> dict[str, Any]:
    """Whose rows the caller sees: all (an operator), its account's, or its own."""
    return {
        "everyone": caller.is_operator,
        "me": caller.user_id,
        "mine": caller.account or "",
    }


_VIEW_LIST = sql(
    f"SELECT {', '.join(FACT_COLUMNS)}, status FROM order_view"
    " WHERE generation = :generation"
    " AND (:everyone OR user_id = :me OR (account_id IS NOT NULL AND account_id = :mine))"
    " AND placed_at >= :first AND placed_at < :last"
    " AND (:channel = '' OR channel = :channel)"
    " AND (:account = '' OR account_id = :account)"
    " AND (:status = '' OR status = :status)"
    " AND order_id > :after"
    " ORDER BY order_id LIMIT :limit"
)


async def order_view(
    db: Database,
    caller: Principal,
    window: Window,
    status: str | None,
    after: str,
    limit: int,
) -> list[dict[str, Any]]:
    """The order view's rows the caller may see, by order id (`after` the last one read)."""
    window.check()

    async def work(tx: Tx) -> list[Row]:
        live = await generations(tx)
        return await tx.fetch_all(
            _VIEW_LIST,
            {
                "generation": live[ORDERS],
                **_scope(caller),
                **_days(window),
                "channel": window.channel or "",
                "account": window.account or "",
                "status": status or "",
                "after": after,
                "limit": limit,
            },
        )

    return [_view_row(row) for row in await db.read(work)]


def _days(window: Window) -> dict[str, datetime]:
    """The window's instants: from the first day's start to the next day after the last."""
    first = datetime.combine(window.first or date.min, time(), UTC)
    if window.last is None or window.last == date.max:
        return {"first": first, "last": datetime.max.replace(tzinfo=UTC)}
    return {"first": first, "last": datetime.combine(window.last + timedelta(days=1), time(), UTC)}


def _view_row(row: Row) -> dict[str, Any]:
    return {
        key: (iso_z(value) if key.endswith("_at") and value is not None else value)
        for key, value in row.items()
    }


_DAILY_LIST = sql(
    f"SELECT day, channel, account_id, {', '.join(COUNTS)} FROM order_daily"
    " WHERE generation = :generation"
    " AND (:everyone OR account_id = :mine)"
    " AND day >= :first AND day <= :last"
    " AND (:channel = '' OR channel = :channel)"
    " AND (:account = '' OR account_id = :account)"
    " ORDER BY day, channel, account_id LIMIT :limit"
)


async def daily(
    db: Database, caller: Principal, window: Window, limit: int
) -> list[dict[str, Any]]:
    """Analytics per day of placement, channel and account, with their rates; an operator
    sees every account's, an account's member its own (`ReportNotAllowed` for anyone else)."""
    window.check()
    if not caller.is_operator and not caller.account:
        raise ReportNotAllowed("only operators and members of an account read its reports")

    async def work(tx: Tx) -> list[Row]:
        live = await generations(tx)
        return await tx.fetch_all(
            _DAILY_LIST,
            {
                "generation": live[ANALYTICS],
                **_scope(caller),
                "first": (window.first or date.min).isoformat(),
                "last": (window.last or date.max).isoformat(),
                "channel": window.channel or "",
                "account": window.account or "",
                "limit": limit,
            },
        )

    return [
        {**row, "account_id": row["account_id"] or None, **domain.rates(row)}
        for row in await db.read(work)
    ]
