"""Consuming: inbox, handler effects and retry bookkeeping commit together.

A message a handler fails on is not held by the transport: its delivery is acknowledged once a
retry record is committed, and the retry worker tries it again later with exponential backoff
and jitter. After `max_attempts` the message moves to the dead-letter store, from which an
operator replays it. The inbox makes every redelivery and replay take effect at most once.
"""

import asyncio
import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import structlog

from orderly import tracing
from orderly.kernel import faults
from orderly.kernel.aio import wait_or_timeout
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging.envelope import Envelope, decode_envelope, encode_envelope
from orderly.messaging.routing import Subscription
from orderly.observability import CONSUMER_LAG, HANDLING, MESSAGES_CONSUMED
from orderly.storage import Database, Row, Tx, sql

log = structlog.get_logger(__name__)

_INBOX_INSERT = sql(
    "INSERT INTO inbox (consumer, message_id, processed_at) VALUES (:consumer, :message_id, :at)"
    " ON CONFLICT DO NOTHING"
)
# A batch's inbox rows in one round trip (PostgreSQL): the ids it had not seen come back.
_INBOX_CLAIM_MANY_PG = sql(
    "INSERT INTO inbox (consumer, message_id, processed_at)"
    " SELECT :consumer, id, :at FROM unnest(CAST(:ids AS text[])) AS id"
    " ON CONFLICT DO NOTHING RETURNING message_id"
)
_RETRY_INSERT = sql(
    "INSERT INTO message_retries"
    " (id, consumer, message_id, type, envelope, attempts, next_attempt_at, last_error, created_at)"
    " VALUES (:id, :consumer, :message_id, :type, :envelope, :attempts, :due, :error, :at)"
    " ON CONFLICT (consumer, message_id) DO NOTHING"
)
_RETRY_DELETE = sql("DELETE FROM message_retries WHERE id = :id")
_RETRY_RESCHEDULE = sql(
    "UPDATE message_retries SET attempts = :attempts, next_attempt_at = :due, last_error = :error"
    " WHERE id = :id"
)
_RETRIES_DUE = sql(
    "SELECT id, consumer, envelope, attempts FROM message_retries"
    " WHERE next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit"
)
_NEXT_DUE = sql("SELECT MIN(next_attempt_at) AS due FROM message_retries")
_DEAD_LETTER_INSERT = sql(
    "INSERT INTO dead_letters"
    " (id, consumer, message_id, type, envelope, attempts, error, failed_at)"
    " VALUES (:id, :consumer, :message_id, :type, :envelope, :attempts, :error, :at)"
)


BATCH = 256


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def describe(error: BaseException) -> str:
    """What is kept of an error: its type and message, cut short."""
    return f"{type(error).__name__}: {error}"[:2000]


class Consumer:
    """One subscription served in this process, bound to its context's database."""

    def __init__(self, subscription: Subscription, db: Database, policy: RetryPolicy) -> None:
        self.subscription = subscription
        self.name = subscription.consumer
        self.db = db
        self.policy = policy
        self.on_retry_scheduled: list[asyncio.Event] = []
        self._waiting: deque[tuple[Envelope, asyncio.Future[None]]] = deque()
        # the loop the deliveries come on, kept: asking for it costs a system call each time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None
        # the counters of the usual outcomes, looked up once (a lookup per message costs more)
        self._handled = MESSAGES_CONSUMED.labels(self.name, "handled")
        self._duplicate = MESSAGES_CONSUMED.labels(self.name, "duplicate")
        self._ignored = MESSAGES_CONSUMED.labels(self.name, "ignored")
        self._lag = CONSUMER_LAG.labels(self.name)

    def deliver(self, message: Envelope) -> "asyncio.Future[None]":
        """Called by the transport; the future is done once the outcome is committed. (A
        future, not a coroutine: a transport waiting for a batch's deliveries makes no task
        for each.) A message that does not concern the consumer is done at once."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        concerns = self.subscription.concerns
        if concerns is not None and not concerns(message):
            self._ignored.inc()
            done.set_result(None)
            return done
        self._waiting.append((message, done))
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain(), name=f"consumer:{self.name}")
        return done

    async def _drain(self) -> None:
        """Handle waiting deliveries in arrival order, many per transaction.

        One batch at a time keeps the messages of an aggregate in order. If any message in a
        batch fails, the batch is undone and each message is handled in a transaction of its
        own, so only the failing one goes to the retry queue.
        """
        while self._waiting:
            batch = [self._waiting.popleft() for _ in range(min(BATCH, len(self._waiting)))]
            messages = [message for message, _ in batch]
            try:
                fresh = await self.db.transaction(partial(self._handle_all, messages=messages))
            except Exception:
                await self._one_by_one(batch)
                continue
            handled = 0
            for (message, done), ran in zip(batch, fresh, strict=True):
                if ran and faults.ARMED:
                    faults.crash_at(f"after:{self.name}:{message.type}")
                handled += ran
                if not done.done():
                    done.set_result(None)
            # counted once a batch, and the lag set from its last message
            if handled:
                self._handled.inc(handled)
            if handled < len(batch):
                self._duplicate.inc(len(batch) - handled)
            self._lag.set((utcnow() - messages[-1].occurred_at).total_seconds())

    async def _handle_all(self, tx: Tx, messages: list[Envelope]) -> list[bool]:
        if self.subscription.deduplicates or tx.dialect != "postgresql" or len(messages) == 1:
            return [await self.handle(tx, message) for message in messages]
        # one round trip claims the whole batch's inbox rows; the rest is as `handle` does
        rows = await tx.fetch_all(
            _INBOX_CLAIM_MANY_PG,
            {"consumer": self.name, "ids": [m.id for m in messages], "at": utcnow()},
        )
        fresh = {row["message_id"] for row in rows}
        ran = []
        for message in messages:
            if message.id in fresh:
                fresh.discard(message.id)  # the same message twice in a batch runs once
                await self._run(tx, message)
                if faults.ARMED:
                    faults.crash_at(f"during:{self.name}:{message.type}")
                ran.append(True)
            else:
                ran.append(False)
        return ran

    async def _one_by_one(self, batch: list[tuple[Envelope, asyncio.Future[None]]]) -> None:
        for message, done in batch:
            try:
                await self._first(message)
            except Exception as error:  # not even the retry record could be written
                if not done.done():
                    done.set_exception(error)
                continue
            if not done.done():
                done.set_result(None)

    async def _first(self, message: Envelope) -> None:
        try:
            fresh = await self.db.transaction(lambda tx: self.handle(tx, message))
            if fresh and faults.ARMED:
                faults.crash_at(f"after:{self.name}:{message.type}")
            MESSAGES_CONSUMED.labels(self.name, "handled" if fresh else "duplicate").inc()
            self._lag.set((utcnow() - message.occurred_at).total_seconds())
            return
        except Exception as error:
            failure = error
        log.warning(
            "handler failed", consumer=self.name, message_id=message.id, error=describe(failure)
        )
        outcome = await self.db.transaction(lambda tx: self._record_failure(tx, message, failure))
        MESSAGES_CONSUMED.labels(self.name, outcome).inc()
        for event in self.on_retry_scheduled:
            event.set()

    async def handle(self, tx: Tx, message: Envelope, retry_id: str | None = None) -> bool:
        """Run the handler unless the inbox has seen `message`; whether it ran."""
        if retry_id is not None:
            await tx.execute(_RETRY_DELETE, {"id": retry_id})
        if self.subscription.deduplicates:  # the handler keeps its own record
            new = bool(await self._run(tx, message))
            if new and faults.ARMED:
                faults.crash_at(f"during:{self.name}:{message.type}")
            return new
        fresh = await tx.execute(
            _INBOX_INSERT, {"consumer": self.name, "message_id": message.id, "at": utcnow()}
        )
        if fresh:
            await self._run(tx, message)
            if faults.ARMED:
                faults.crash_at(f"during:{self.name}:{message.type}")
        return bool(fresh)

    async def _run(self, tx: Tx, message: Envelope) -> bool | None:
        """The handler, with the message named in log lines and, when the message carries a
        trace, in a span under the one that published it."""
        named = HANDLING.set((message.id, message.correlation_id))
        try:
            if tracing.ON and message.traceparent and tracing.recorded(message.traceparent):
                with tracing.span(
                    f"process {message.type}",
                    tracing.parent(message.traceparent, message.tracestate),
                    kind="consumer",
                    attributes={
                        "messaging.consumer.group.name": self.name,
                        "messaging.message.id": message.id,
                        "orderly.context": self.db.name,
                    },
                ):
                    return await self.subscription.handler(tx, message)
            return await self.subscription.handler(tx, message)
        finally:
            HANDLING.reset(named)

    async def _record_failure(self, tx: Tx, message: Envelope, error: BaseException) -> str:
        if self.policy.max_attempts <= 1:
            await dead_letter(tx, self.name, message, 1, describe(error))
            return "dead_lettered"
        now = utcnow()
        await tx.execute(
            _RETRY_INSERT,
            {
                "id": new_id(),
                "consumer": self.name,
                "message_id": message.id,
                "type": message.type,
                "envelope": encode_envelope(message).decode(),
                "attempts": 1,
                "due": now + self.policy.delay(1),
                "error": describe(error),
                "at": now,
            },
        )
        return "retry_scheduled"

    async def retry(self, row: Row) -> None:
        message = decode_envelope(row["envelope"])
        try:
            fresh = await self.db.transaction(
                lambda tx: self.handle(tx, message, retry_id=row["id"])
            )
            MESSAGES_CONSUMED.labels(self.name, "handled" if fresh else "duplicate").inc()
            return
        except Exception as error:
            failure = error
        attempts = int(row["attempts"]) + 1
        log.warning("retry failed", consumer=self.name, message_id=message.id, attempts=attempts)
        outcome = await self.db.transaction(
            lambda tx: self._reschedule(tx, row, message, attempts, failure)
        )
        MESSAGES_CONSUMED.labels(self.name, outcome).inc()

    async def _reschedule(
        self, tx: Tx, row: Row, message: Envelope, attempts: int, error: BaseException
    ) -> str:
        if attempts >= self.policy.max_attempts:
            await tx.execute(_RETRY_DELETE, {"id": row["id"]})
            await dead_letter(tx, self.name, message, attempts, describe(error))
            return "dead_lettered"
        await tx.execute(
            _RETRY_RESCHEDULE,
            {
                "id": row["id"],
                "attempts": attempts,
                "due": utcnow() + self.policy.delay(attempts),
                "error": describe(error),
            },
        )
        return "retry_scheduled"


async def dead_letter(tx: Tx, consumer: str, message: Envelope, attempts: int, error: str) -> None:
    log.error("message dead-lettered", consumer=consumer, message_id=message.id, type=message.type)
    await tx.execute(
        _DEAD_LETTER_INSERT,
        {
            "id": new_id(),
            "consumer": consumer,
            "message_id": message.id,
            "type": message.type,
            "envelope": encode_envelope(message).decode(),
            "attempts": attempts,
            "error": error,
            "at": utcnow(),
        },
    )


class RetryWorker:
    """Retries the due failed deliveries of one database's consumers."""

    def __init__(self, db: Database, consumers: dict[str, Consumer], poll_interval: float) -> None:
        self.db = db
        self.consumers = consumers
        self.poll_interval = poll_interval
        self.wakeup = asyncio.Event()
        for consumer in consumers.values():
            consumer.on_retry_scheduled.append(self.wakeup)

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
                timeout = await self._until_next_due()
            except Exception as error:
                log.error("retry worker failed", database=self.db.name, error=describe(error))
                timeout = self.poll_interval
            self.wakeup.clear()
            await wait_or_timeout(self.wakeup, timeout)

    async def run_once(self) -> int:
        rows = await self.db.read(
            lambda tx: tx.fetch_all(_RETRIES_DUE, {"now": utcnow(), "limit": 100})
        )
        local = [row for row in rows if row["consumer"] in self.consumers]
        await asyncio.gather(*(self.consumers[row["consumer"]].retry(row) for row in local))
        return len(local)

    async def _until_next_due(self) -> float:
        row = await self.db.read(lambda tx: tx.fetch_one(_NEXT_DUE))
        if row is None or row["due"] is None:
            return self.poll_interval
        due = row["due"]
        if isinstance(due, str):  # SQLite does not type aggregates
            due = datetime.fromisoformat(due)
        wait: float = (due - utcnow()).total_seconds()
        return max(0.0, min(self.poll_interval, wait))
