"""Writing messages to the outbox inside the transaction that caused them."""

from orderly.kernel.clock import utcnow
from orderly.messaging.envelope import Envelope, encode_envelope
from orderly.storage import Tx, sql

_INSERT = sql(
    "INSERT INTO outbox (message_id, type, aggregate_id, envelope, created_at)"
    " VALUES (:message_id, :type, :aggregate_id, :envelope, :created_at)"
)


async def emit(tx: Tx, *messages: Envelope) -> None:
    """Queue `messages` for publication; they go out only if `tx` commits."""
    now = utcnow()
    rows = [
        {
            "message_id": m.id,
            "type": m.type,
            "aggregate_id": m.aggregate_id,
            "envelope": encode_envelope(m).decode(),
            "created_at": now,
        }
        for m in messages
    ]
    if len(rows) == 1:
        await tx.execute(_INSERT, rows[0])
    else:
        await tx.execute_many(_INSERT, rows)
    tx.wrote_outbox = True
