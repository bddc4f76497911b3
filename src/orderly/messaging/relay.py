"""The relay: publishes committed outbox rows and marks them sent.

Woken after every commit that wrote to the outbox, and polling as a fallback (another
process may have written, or a publish may have failed). On PostgreSQL a batch is claimed
and marked in one statement with `FOR UPDATE SKIP LOCKED`, so any number of relays can share
one outbox; on SQLite one process owns each database file.
"""

import asyncio
from collections.abc import Sequence

import msgspec
import structlog

from orderly import tracing
from orderly.kernel import faults
from orderly.kernel.aio import wait_or_timeout
from orderly.kernel.clock import utcnow
from orderly.messaging.consumer import describe
from orderly.messaging.envelope import Envelope, decode_envelope
from orderly.messaging.outbox import recent
from orderly.messaging.transports import Transport
from orderly.observability import MESSAGES_PUBLISHED, RELAY_BATCH_SECONDS
from orderly.storage import Database, Row, Tx, sql

log = structlog.get_logger(__name__)

_PENDING_AFTER = sql(
    "SELECT id, message_id FROM outbox WHERE published_at IS NULL AND id > :after"
    " ORDER BY id LIMIT :limit"
)
_ENVELOPES_BETWEEN = sql(
    "SELECT id, envelope FROM outbox WHERE id BETWEEN :first AND :last AND published_at IS NULL"
)
# Claimed and marked in one statement; the mark holds only if the publish that follows
# succeeds, since both commit together.
_CLAIM_AND_MARK_PG = sql(
    "UPDATE outbox SET published_at = :at WHERE id IN ("
    "SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT :limit"
    " FOR UPDATE SKIP LOCKED) RETURNING id, envelope"
)
# A batch's rows are every unpublished row from its first id to its last (see
# `_publish_pipelined`): one statement marks them.
_MARK_RANGE = sql(
    "UPDATE outbox SET published_at = :at WHERE id BETWEEN :first AND :last"
    " AND published_at IS NULL"
)
_STATUS = sql(
    "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL"
)
_PUBLISHED = sql("SELECT COUNT(*) AS published FROM outbox WHERE published_at IS NOT NULL")


class Relay:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.context = db.name
        self.transport = transport
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wakeup = asyncio.Event()
        self._after = 0
        self._rewind = False  # a batch could not be marked: start over after this one
        self._marking: list[asyncio.Task[None]] = []
        db.on_commit(self._wakeup.set)

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                published = await self.publish_once()
            except Exception as error:
                log.error("relay publish failed", context=self.context, error=describe(error))
                published = 0
            self._marking = [task for task in self._marking if not task.done()]
            if published >= self.batch_size:
                continue
            await wait_or_timeout(self._wakeup, self.poll_interval)

    async def publish_once(self) -> int:
        """Publish one batch; the number of messages it held."""
        with RELAY_BATCH_SECONDS.labels(self.context).time():
            if self.db.dialect == "postgresql":
                published = await self.db.transaction(self._claim_and_publish)
            else:
                published = await self._publish_pipelined()
        MESSAGES_PUBLISHED.labels(self.context).inc(published)
        return published

    async def _publish_pipelined(self) -> int:
        """SQLite: publish the next batch while the previous one is still being marked.

        With one writer per file, a row becomes visible only after every smaller id did, so a
        cursor over ids never skips a row. If marking fails the cursor goes back to the start
        and the unmarked rows go out again; consumers' inboxes drop the duplicates. (Pruning
        keeps the newest row, so that ids never start again below the cursor.)
        """
        params = {"after": self._after, "limit": self.batch_size}
        rows, messages = await self.db.read(lambda tx: _pending(tx, params))
        if not rows:
            return 0
        if faults.ARMED:
            faults.crash_at("relay.claimed")
        await self._publish(messages)
        if faults.ARMED:
            faults.crash_at("relay.published")
        self._after = 0 if self._rewind else int(rows[-1]["id"])
        self._rewind = False
        first, last = int(rows[0]["id"]), self._after
        self._marking.append(asyncio.create_task(self._mark(first, last)))
        if len(self._marking) > 4:
            await self._marking.pop(0)
        return len(rows)

    async def _publish(self, messages: list[Envelope]) -> None:
        if not tracing.ON:
            await self.transport.publish(self.context, messages)
            return
        spans, sent = self._publish_spans(messages)
        try:
            await self.transport.publish(self.context, sent)
        except BaseException as error:
            for span in spans:
                tracing.end(span, error)
            raise
        for span in spans:
            tracing.end(span)

    def _publish_spans(self, messages: list[Envelope]) -> tuple[list[tracing.Span], list[Envelope]]:
        """A span for each message of a recorded trace, under the span that wrote it; the
        message goes out carrying its publish span instead, so that its consumers' spans
        are children of it."""
        spans, sent = [], []
        for message in messages:
            if message.traceparent and tracing.recorded(message.traceparent):
                span = tracing.span(
                    f"publish {message.type}",
                    tracing.parent(message.traceparent, message.tracestate),
                    kind="producer",
                    attributes={
                        "messaging.message.id": message.id,
                        "orderly.context": self.context,
                    },
                )
                traceparent, tracestate = tracing.handed(span)
                message = msgspec.structs.replace(
                    message, traceparent=traceparent, tracestate=tracestate
                )
                spans.append(span)
            sent.append(message)
        return spans, sent

    async def settle(self) -> None:
        """Wait for batches still being marked (on shutdown, after `run` was cancelled)."""
        await asyncio.gather(*self._marking, return_exceptions=True)
        self._marking.clear()

    async def _mark(self, first: int, last: int) -> None:
        params = {"at": utcnow(), "first": first, "last": last}
        try:
            await self.db.transaction(lambda tx: tx.execute(_MARK_RANGE, params))
        except Exception as error:
            log.error(
                "relay could not mark a batch sent", context=self.context, error=describe(error)
            )
            self._after = 0
            self._rewind = True  # also past a batch being published now

    async def _claim_and_publish(self, tx: Tx) -> int:
        claimed = await tx.fetch_all(_CLAIM_AND_MARK_PG, {"at": utcnow(), "limit": self.batch_size})
        if claimed:  # RETURNING keeps no order
            rows = sorted(claimed, key=lambda row: int(row["id"]))
            if faults.ARMED:
                faults.crash_at("relay.claimed")
            await self._publish(_messages(rows))
            if faults.ARMED:  # published, the mark not committed: they go out again
                faults.crash_at("relay.published")
        return len(claimed)


async def _pending(tx: Tx, params: dict[str, int]) -> tuple[list[Row], list[Envelope]]:
    """SQLite: the next unpublished rows and their messages, taken from those this process
    queued (`outbox.recent`) and decoded from the rows only for the others (queued by
    another process, or before a restart)."""
    rows = await tx.fetch_all(_PENDING_AFTER, params)
    found = [recent(row["message_id"]) for row in rows]
    if rows and None in found:
        bounds = {"first": rows[0]["id"], "last": rows[-1]["id"]}
        stored = {
            row["id"]: row["envelope"] for row in await tx.fetch_all(_ENVELOPES_BETWEEN, bounds)
        }
        found = [
            message or decode_envelope(stored[row["id"]])
            for row, message in zip(rows, found, strict=True)
        ]
    return rows, [message for message in found if message is not None]


def _messages(rows: Sequence[Row]) -> list[Envelope]:
    return [decode_envelope(row["envelope"]) for row in rows]


async def outbox_status(db: Database) -> dict[str, object]:
    async def work(tx: Tx) -> dict[str, object]:
        pending = await tx.fetch_one(_STATUS)
        published = await tx.fetch_one(_PUBLISHED)
        assert pending is not None
        assert published is not None
        return {
            "context": db.name,
            "pending": int(pending["pending"]),
            "published": int(published["published"]),
            "oldest_pending": pending["oldest"],
        }

    return await db.read(work)
