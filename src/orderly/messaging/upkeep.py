"""Upkeep of the messaging tables: published outbox rows and inbox rows are kept for a
retention period, then deleted in small batches.

The inbox is what makes a redelivered message a no-op, so an inbox row must outlive every
redelivery of its message: a broker redelivers what was not acknowledged as soon as a consumer
comes back, and a relay republishes what it sent but could not mark. The default retention
(7 days) is far longer than any outage these recover from. Dead letters and pending retries
keep their own copy of the envelope and are never pruned here.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog

from orderly.kernel.clock import utcnow
from orderly.storage import Database, Statement, Tx, sql
from orderly.storage.database import Params

log = structlog.get_logger(__name__)

BATCH = 1000

# Oldest ids first: published rows are mostly the low ids, so the primary key finds them
# without an index on published_at, and the unpublished tail is never touched. The newest row
# stays: SQLite numbers a new row after the largest id in the table, so an emptied outbox
# would start again from 1, below the ids a running relay has published (its cursor).
_PRUNE_OUTBOX = sql(
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
    " WHERE published_at IS NOT NULL AND published_at < :before"
    " AND id < (SELECT MAX(id) FROM outbox) ORDER BY id LIMIT :limit)"
)
_PRUNE_INBOX = sql(
    "DELETE FROM inbox WHERE (consumer, message_id) IN (SELECT consumer, message_id FROM inbox"
    " WHERE processed_at < :before LIMIT :limit)"
)


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int


async def prune(db: Database, retention: timedelta, *, batch: int = BATCH) -> Pruned:
    """Delete published outbox rows and inbox rows older than `retention`, a batch per
    transaction so writers never wait long behind the delete."""
    params = {"before": utcnow() - retention, "limit": batch}
    return Pruned(
        outbox=await _delete_all(db, _PRUNE_OUTBOX, params),
        inbox=await _delete_all(db, _PRUNE_INBOX, params),
    )


async def _delete_all(db: Database, statement: Statement, params: Params) -> int:
    deleted = 0
    while True:

        async def work(tx: Tx) -> int:
            return await tx.execute(statement, params)

        count = await db.transaction(work)
        deleted += count
        if count < int(params["limit"]):
            return deleted


async def pruner(db: Database, retention: timedelta, interval: float) -> None:
    """Run `prune` every `interval` seconds, for as long as the process runs."""
    while True:
        try:
            pruned = await prune(db, retention)
            if pruned.outbox or pruned.inbox:
                log.info(
                    "messaging tables pruned",
                    database=db.name,
                    outbox=pruned.outbox,
                    inbox=pruned.inbox,
                )
        except Exception as error:  # upkeep only: the next round tries again
            log.warning("pruning messaging tables failed", error=type(error).__name__)
        await asyncio.sleep(interval)
