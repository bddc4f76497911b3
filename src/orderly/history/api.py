"""History's routes: an order's events, and the reports made from its projections (JSON, CSV
or Parquet)."""

import csv
import io
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from orderly.history import projections, reports
from orderly.history.domain import COUNTS, FACT_COLUMNS, STATUSES
from orderly.history.reports import InvalidDayRange, OrderNotFound, ReportNotAllowed, Window
from orderly.storage import Database
from orderly.web.auth import Caller, Operator
from orderly.web.dependencies import database
from orderly.web.fields import QueryId
from orderly.web.refusals import refuses

router = APIRouter(tags=["history"])

History = Annotated[Database, Depends(database("history"))]

PARQUET = "application/vnd.apache.parquet"
CSV = "text/csv; charset=utf-8"


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


class EventOut(BaseModel):
    seq: int
    event_id: str
    event_type: str
    name: str | None  # seed 004's name for the event, where it has one
    source: str
    occurred_at: str
    recorded_at: str
    data: dict[str, Any]
    correlation_id: str | None
    causation_id: str | None
    saga_id: str | None


class OrderEventsOut(BaseModel):
    order_id: str
    events: list[EventOut]


class OrderViewOut(BaseModel):
    order_id: str
    user_id: str | None
    account_id: str | None
    channel: str | None
    currency: str | None
    status: str
    lines: int
    units: int
    total_cents: int
    placed_at: str | None
    held_at: str | None
    passed_at: str | None
    confirmed_at: str | None
    paid_at: str | None
    waved_at: str | None
    wave_id: str | None
    shipped_at: str | None
    delivered_at: str | None
    cancelled_at: str | None
    failed_at: str | None
    reason: str | None
    sales_order_number: str | None
    carrier: str | None
    tracking_number: str | None
    units_short: int
    refunded_cents: int
    last_event_at: str | None


class DailyOut(BaseModel):
    day: str
    channel: str
    account_id: str | None
    orders: int
    units: int
    revenue_cents: int
    confirmed: int
    cancelled: int
    failed: int
    shipped: int
    delivered: int
    units_short: int
    refunded_cents: int
    fill_rate: float | None
    cancellation_rate: float | None
    failure_rate: float | None


class ProjectionOut(BaseModel):
    name: str
    generation: int
    rebuilt_at: str | None


_FILES: dict[int | str, dict[str, Any]] = {200: {"content": {CSV: {}, PARQUET: {}}}}
_DAY_HELP = "A day of placement (UTC), included."
StatusWord = Annotated[str, Query(pattern="^(" + "|".join(STATUSES) + ")$")]
Channel = Annotated[str, Query(max_length=16)]


@router.get(
    "/api/v1/orders/{order_id}/events",
    response_model=OrderEventsOut,
    responses=refuses(OrderNotFound),
)
async def order_events(order_id: str, db: History, caller: Caller) -> dict[str, Any]:
    """Every event about the order, oldest first, each with its envelope and, where seed 004
    names the moment, its name there (`OrderReceived`, `OrderValidated`, `OrderWaveAssigned`,
    `OrderShipped`, `OrderCompleted`)."""
    return {"order_id": order_id, "events": await reports.events_of(db, caller, order_id)}


@router.get(
    "/api/v1/reports/orders",
    response_model=list[OrderViewOut],
    responses={**refuses(InvalidDayRange), **_FILES},
)
async def order_report(
    db: History,
    caller: Caller,
    first: Annotated[date | None, Query(alias="from", description=_DAY_HELP)] = None,
    last: Annotated[date | None, Query(alias="to", description=_DAY_HELP)] = None,
    channel: Channel | None = None,
    account: Annotated[QueryId | None, Query()] = None,
    status: StatusWord | None = None,
    after: Annotated[QueryId, Query(description="The last order id of the page before.")] = "",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    format: Format = Format.JSON,
) -> Any:
    """The order view: one row per order the caller may see (its own, its account's, or an
    operator's: everyone's), by order id, with its status and the time of each moment."""
    rows = await reports.order_view(
        db, caller, Window(first, last, channel, account), status, after, limit
    )
    return _answer(
        rows, ("order_id", *(c for c in FACT_COLUMNS if c != "order_id"), "status"), format
    )


@router.get(
    "/api/v1/reports/daily",
    response_model=list[DailyOut],
    responses={**refuses(InvalidDayRange, ReportNotAllowed), **_FILES},
)
async def daily_report(
    db: History,
    caller: Caller,
    first: Annotated[date | None, Query(alias="from", description=_DAY_HELP)] = None,
    last: Annotated[date | None, Query(alias="to", description=_DAY_HELP)] = None,
    channel: Channel | None = None,
    account: Annotated[QueryId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    format: Format = Format.JSON,
) -> Any:
    """Analytics per day of placement, channel and account: orders, units, revenue (orders
    confirmed and not cancelled or failed since), refunds, and the fill, cancellation and
    failure rates. Operators see every account's; an account's members see their own."""
    rows = await reports.daily(db, caller, Window(first, last, channel, account), limit)
    columns = (
        "day",
        "channel",
        "account_id",
        *COUNTS,
        "fill_rate",
        "cancellation_rate",
        "failure_rate",
    )
    return _answer(rows, columns, format)


@router.get("/api/v1/reports/projections", response_model=list[ProjectionOut])
async def projection_status(db: History, caller: Operator) -> list[dict[str, Any]]:
    """Each projection's live generation and when it was last rebuilt (operators)."""
    found = await projections.status(db)
    return [
        {**row, "rebuilt_at": None if row["rebuilt_at"] is None else row["rebuilt_at"].isoformat()}
        for row in found
    ]


def _answer(rows: list[dict[str, Any]], columns: tuple[str, ...], format: Format) -> Any:
    if format is Format.JSON:
        return rows
    if format is Format.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(row[c]) for c in columns] for row in rows])
        return Response(out.getvalue(), media_type=CSV)
    return Response(_parquet(rows, columns), media_type=PARQUET)


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _parquet(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    import pyarrow as pa  # a large import, made when a Parquet file is first asked for
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [{c: row[c] for c in columns} for row in rows], schema=_schema(columns)
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _schema(columns: tuple[str, ...]) -> Any:
    import pyarrow as pa

    def kind(column: str) -> Any:
        if column in COUNTS or column in (
            "lines",
            "units",
            "total_cents",
            "units_short",
            "refunded_cents",
        ):
            return pa.int64()
        if column.endswith("_rate"):
            return pa.float64()
        return pa.string()

    return pa.schema([(c, kind(c)) for c in columns])
