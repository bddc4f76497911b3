"""Writing messages to the outbox inside the transaction that caused them."""

from datetime import datetime
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.messaging.envelope import Envelope, encode_envelope
from orderly.storage import Params, Statement, Tx, sql

# The messages this process queued lately, by id, until its relay takes them (at most
# `_RECENT_MAX`; one whose transaction rolled back is never taken and ages out): on SQLite,
# where one process writes each database, the relay publishes these instead of decoding its
# outbox rows again.
_RECENT: dict[str, Envelope] = {}
_RECENT_MAX = 65_536

_COLUMNS = ("message_id", "type", "aggregate_id", "envelope", "created_at")
_INTO = f"INSERT INTO outbox ({', '.join(_COLUMNS)})"
_INSERT = sql(f"{_INTO} VALUES ({', '.join(f':{c}' for c in _COLUMNS)})")


def _row(message: Envelope, now: datetime) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "type": message.type,
        "aggregate_id": message.aggregate_id,
        "envelope": encode_envelope(message).decode(),
        "created_at": now,
    }


async def emit(tx: Tx, *messages: Envelope) -> None:
    """Queue `messages` for publication; they go out only if `tx` commits."""
    now = utcnow()
    rows = [_row(m, now) for m in messages]
    if tx.dialect == "sqlite":
        _remember(messages)
    if len(rows) == 1:
        await tx.execute(_INSERT, rows[0])
    else:
        await tx.execute_many(_INSERT, rows)
    tx.wrote_outbox = True


def _remember(messages: tuple[Envelope, ...]) -> None:
    for message in messages:
        _RECENT[message.id] = message
    while len(_RECENT) > _RECENT_MAX:
        del _RECENT[next(iter(_RECENT))]


def recent(message_id: str) -> Envelope | None:
    """The message with `message_id`, if this process queued it lately; taken once."""
    return _RECENT.pop(message_id, None)


def along_with(writes: str, *, when: str = "") -> Statement:
    """PostgreSQL: one statement that makes `writes` (data-modifying common table
    expressions, `name AS (...)`, comma-separated) and queues one message with them, for
    `emit_along`; with `when` (one of `writes`, returning rows), only if that one wrote a row.
    One statement is atomic by itself and one round trip."""
    values = ", ".join(f":outbox_{c}" for c in _COLUMNS)
    queued = (
        f"SELECT {values} WHERE EXISTS (SELECT 1 FROM {when})" if when else f"VALUES ({values})"
    )
    return sql(f"WITH {writes} {_INTO} {queued}")


async def emit_along(tx: Tx, stmt: Statement, params: Params, message: Envelope) -> bool:
    """Run `stmt` (made by `along_with`) with `params`; `message` goes out if it commits.
    Whether the message was queued (always, unless `stmt` was made with `when`)."""
    outbox = {f"outbox_{name}": value for name, value in _row(message, utcnow()).items()}
    queued = await tx.execute(stmt, {**params, **outbox}) > 0
    tx.wrote_outbox = tx.wrote_outbox or queued
    return queued
