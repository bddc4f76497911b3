"""The order list: the caller's orders (an operator's: all), filtered by id, status in its
flow's words, channel, account and creation time, sorted, a page at a time; each order with
its lines and its history too, if asked."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from orderly.kernel.errors import Unprocessable
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.ordering import domain, store
from orderly.ordering.domain import Channel, OrderStatus
from orderly.ordering.queries import history_view, item_view
from orderly.storage import Database, Row, Statement, Tx, sql

# Every word any flow shows for a state, and the (channel, state) pairs it stands for.
_PAIRS: dict[str, frozenset[tuple[Channel, OrderStatus]]] = {}
for _channel, _words in domain.WORDS.items():
    for _status, _word in _words.items():
        _PAIRS[_word] = _PAIRS.get(_word, frozenset()) | {(_channel, _status)}
STATUS_WORDS = tuple(sorted(_PAIRS))


class Sort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    LARGEST = "-total_amount"
    SMALLEST = "total_amount"
    STATUS = "status"
    STATUS_DESC = "-status"


# An order's place in the lifecycle, for sorting by status alike in every flow's words.
_LIFECYCLE = (
    OrderStatus.PENDING,
    OrderStatus.AWAITING_APPROVAL,
    OrderStatus.ON_HOLD,
    OrderStatus.CONFIRMED,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.CANCELLED,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.FAILED,
)
_STAGE = (
    "CASE status "
    + " ".join(f"WHEN '{s.value}' THEN {n}" for n, s in enumerate(_LIFECYCLE))
    + " END"
)
# Unpriced orders (no total) come last either way, on both databases.
_ORDER_BY = {
    Sort.NEWEST: "created_at DESC, id",
    Sort.OLDEST: "created_at, id",
    Sort.LARGEST: "total_cents IS NULL, total_cents DESC, created_at DESC, id",
    Sort.SMALLEST: "total_cents IS NULL, total_cents, created_at DESC, id",
    Sort.STATUS: f"{_STAGE}, created_at DESC, id",
    Sort.STATUS_DESC: f"{_STAGE} DESC, created_at DESC, id",
}


class Expansion(StrEnum):
    """What a summary may show besides, as the order itself shows it."""

    ITEMS = "items"
    HISTORY = "history"


class InvalidDateRange(Unprocessable):
    code = "invalid_date_range"
    title = "The range ends before it starts"


@dataclass(frozen=True)
class OrderFilter:
    statuses: frozenset[str] = frozenset()  # words, any flow's; none: every status
    channels: frozenset[Channel] = frozenset()  # none: every channel
    created_from: datetime | date | None = None
    created_to: datetime | date | None = None  # a date: up to the end of that day
    sort: Sort = Sort.NEWEST
    ids: frozenset[str] = frozenset()  # none: any order
    accounts: frozenset[str] = frozenset()  # the B2B accounts placed on; none: any order


async def list_orders(
    db: Database,
    caller: Principal,
    wanted: OrderFilter,
    limit: int,
    offset: int,
    expand: frozenset[Expansion] = frozenset(),
) -> list[dict[str, Any]]:
    """A page of the orders the caller may see that `wanted` matches, each with what
    `expand` names: one statement for the page, and one per expansion for all its orders."""
    since, until = bound(wanted.created_from, end=False), bound(wanted.created_to, end=True)
    if since is not None and until is not None and until < since:
        raise InvalidDateRange("created_to is before created_from")
    pairs = _pairs(wanted)
    if pairs is not None and not pairs:
        return []  # the words asked for are shown by none of the channels asked for
    stmt = _statement(
        scoped=not caller.is_operator,
        pairs=pairs,
        channels=frozenset(c.value for c in wanted.channels),
        since=wanted.created_from is not None,
        until=wanted.created_to is not None,
        sort=wanted.sort,
        ids=bool(wanted.ids),
        accounts=bool(wanted.accounts),
    )
    params: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "owner_id": caller.user_id,
        "account_id": caller.account,
        "since": since,
        "until": until,
        "ids": sorted(wanted.ids),
        "accounts": sorted(wanted.accounts),
    }

    async def work(tx: Tx) -> list[dict[str, Any]]:
        rows = await tx.fetch_all(stmt, params)
        summaries = [_summary(r) for r in rows]
        if rows and expand:
            await _expand(tx, summaries, expand)
        return summaries

    return await db.read(work)


def _summary(r: Row) -> dict[str, Any]:
    summary = {
        "order_id": r["id"],
        "user_id": r["owner_id"],
        "status": domain.word(r["channel"], r["status"]),
        "channel": r["channel"],
        "total_amount": money(r["total_cents"]),
        "currency": r["currency"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }
    if r["account_id"] is not None:  # a B2B account's order names it, as the order does
        summary["account_id"] = r["account_id"]
    return summary


async def _expand(tx: Tx, summaries: list[dict[str, Any]], expand: frozenset[Expansion]) -> None:
    """Give each summary its lines and its history, as `queries.view` shows them."""
    ids = {"ids": [summary["order_id"] for summary in summaries]}
    if Expansion.ITEMS in expand:
        items = _by_order(await tx.fetch_all(store.ITEMS_OF_ORDERS, ids))
        for summary in summaries:
            summary["items"] = [item_view(r) for r in items[summary["order_id"]]]
    if Expansion.HISTORY in expand:
        history = _by_order(await tx.fetch_all(store.HISTORY_OF_ORDERS, ids))
        for summary in summaries:
            channel = summary["channel"]
            summary["history"] = [history_view(channel, r) for r in history[summary["order_id"]]]


def _by_order(rows: list[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        found[row["order_id"]].append(row)
    return found


def _pairs(wanted: OrderFilter) -> frozenset[tuple[str, str]] | None:
    """The (channel, state) pairs the words stand for, within the channels asked for."""
    if not wanted.statuses:
        return None
    return frozenset(
        (channel.value, status.value)
        for word in wanted.statuses
        for channel, status in _PAIRS[word]
        if not wanted.channels or channel in wanted.channels
    )


def bound(at: datetime | date | None, *, end: bool) -> datetime | None:
    """A bound as stored: aware, in UTC. A date is its whole day; a naive time is UTC."""
    if at is None:
        return None
    try:
        if not isinstance(at, datetime):
            at = datetime.combine(at + timedelta(days=1) if end else at, time(), UTC)
            return at - timedelta(microseconds=1) if end else at
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:  # past an end of the calendar: that end
        return (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)


_NAME = re.compile(r"^[a-z0-9_]+$")


@lru_cache(maxsize=256)
def _statement(
    *,
    scoped: bool,
    pairs: frozenset[tuple[str, str]] | None,
    channels: frozenset[str],
    since: bool,
    until: bool,
    sort: Sort,
    ids: bool,
    accounts: bool,
) -> Statement:
    """The query for one shape of filter, compiled once. States and channels are written in
    as constants: they are the machine's own names, never the caller's text."""
    where = []
    if ids:
        where.append("id IN :ids")
    if accounts:
        where.append("account_id IN :accounts")
    if scoped:
        where.append(
            "(owner_id = :owner_id OR (account_id IS NOT NULL AND account_id = :account_id))"
        )
    if pairs is not None:
        by_channel: dict[str, list[str]] = defaultdict(list)
        for channel, status in sorted(pairs):
            by_channel[channel].append(status)
        if not scoped:  # everyone's orders: the status index ranges over the states alone
            states = sorted({status for _, status in pairs})
            where.append(f"status IN ({', '.join(map(_quoted, states))})")
        where.append(
            "("
            + " OR ".join(
                f"(channel = {_quoted(c)} AND status IN ({', '.join(map(_quoted, states))}))"
                for c, states in by_channel.items()
            )
            + ")"
        )
    elif channels:
        where.append(f"channel IN ({', '.join(map(_quoted, sorted(channels)))})")
    if since:
        where.append("created_at >= :since")
    if until:
        where.append("created_at <= :until")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return sql(
        "SELECT id, owner_id, account_id, status, channel, total_cents, currency, created_at,"
        " updated_at FROM orders"
        f"{condition} ORDER BY {_ORDER_BY[sort]} LIMIT :limit OFFSET :offset",
        lists=[name for name, given in (("ids", ids), ("accounts", accounts)) if given],
    )


def _quoted(name: str) -> str:
    assert _NAME.match(name), name
    return f"'{name}'"
