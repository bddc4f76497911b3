"""Operator access to dead letters: list, show, replay."""

from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.messaging.envelope import decode_envelope
from orderly.storage import Database, Row, Tx, sql

_LIST = sql(
    "SELECT id, consumer, message_id, type, attempts, error, failed_at, replayed_at"
    " FROM dead_letters ORDER BY failed_at DESC LIMIT :limit"
)
_GET = sql(
    "SELECT id, consumer, message_id, type, envelope, attempts, error, failed_at, replayed_at"
    " FROM dead_letters WHERE id = :id"
)
_MARK_REPLAYED = sql(
    "UPDATE dead_letters SET replayed_at = :at WHERE id = :id AND replayed_at IS NULL"
)
_REQUEUE = sql(
    "INSERT INTO message_retries"
    " (id, consumer, message_id, type, envelope, attempts, next_attempt_at, last_error, created_at)"
    " VALUES (:id, :consumer, :message_id, :type, :envelope, 0, :at, :error, :at)"
)


class AlreadyReplayed(Conflict):
    code = "dead_letter_already_replayed"
    title = "Dead letter already replayed"


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"
    title = "Dead letter not found"


def _summary(row: Row, context: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "context": context,
        "consumer": row["consumer"],
        "message_id": row["message_id"],
        "type": row["type"],
        "attempts": row["attempts"],
        "error": row["error"],
        "failed_at": row["failed_at"],
        "replayed_at": row["replayed_at"],
    }


async def list_dead_letters(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(_LIST, {"limit": limit}))
    return [_summary(row, db.name) for row in rows]


async def find_dead_letter(db: Database, dead_letter_id: str) -> dict[str, Any] | None:
    row = await db.read(lambda tx: tx.fetch_one(_GET, {"id": dead_letter_id}))
    if row is None:
        return None
    message = decode_envelope(row["envelope"])
    return {
        **_summary(row, db.name),
        "message": {
            "event_id": message.id,
            "event_type": message.type,
            "source": message.source,
            "occurred_at": message.occurred_at,
            "aggregate_id": message.aggregate_id,
            "correlation_id": message.correlation_id,
            "data": message.data,
        },
    }


async def replay_dead_letter(db: Database, dead_letter_id: str) -> dict[str, Any]:
    """Hand the message back to its consumer's retry queue, due now. Once per dead letter."""

    async def work(tx: Tx) -> dict[str, Any]:
        row = await tx.fetch_one(_GET, {"id": dead_letter_id})
        if row is None:
            raise DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")
        now = utcnow()
        if not await tx.execute(_MARK_REPLAYED, {"id": dead_letter_id, "at": now}):
            raise AlreadyReplayed(f"dead letter {dead_letter_id} was already replayed")
        await tx.execute(
            _REQUEUE,
            {
                "id": new_id(),
                "consumer": row["consumer"],
                "message_id": row["message_id"],
                "type": row["type"],
                "envelope": row["envelope"],
                "at": now,
                "error": row["error"],
            },
        )
        return {**_summary(row, db.name), "replayed_at": now}

    return await db.transaction(work)
