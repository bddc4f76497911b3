"""One context's consumers on a real SQLite database of its own, without a server or a
broker: a message handed to `Bus.publish` goes to each consumer of its type, through the
inbox and the handler the context wires, and is handled once committed."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from orderly.config import Settings
from orderly.contexts import ContextSpec
from orderly.messaging import Envelope
from orderly.messaging.consumer import Consumer, RetryPolicy
from orderly.messaging.envelope import decode_envelope
from orderly.storage import Database, open_database, sql
from orderly.storage.migrations import migrate

_OUTBOX = sql("SELECT envelope FROM outbox ORDER BY id")


async def context_database(tmp_path: Path, context: str) -> Database:
    """`context`'s own database in `tmp_path`, migrated."""
    url = f"sqlite:///{tmp_path}"
    await migrate(url, context)
    return await open_database(url, context)


class Bus:
    def __init__(
        self, context: ContextSpec, db: Database, settings: Settings | None = None
    ) -> None:
        wired = context.wire(settings or Settings())
        self.consumers = [Consumer(s, db, RetryPolicy()) for s in wired.subscriptions]
        self.db = db

    @property
    def names(self) -> list[str]:
        return [consumer.name for consumer in self.consumers]

    async def deliver(self, message: Envelope) -> int:
        """Hand `message` to every consumer of its type, each in a transaction of its own,
        through its inbox, as a running process does (a handler's error is raised here, not
        retried); how many consumers ran it (the inbox runs a message once per consumer)."""
        ran = 0
        for consumer in self.consumers:
            if message.type in consumer.subscription.types:
                ran += await self.db.transaction(lambda tx, c=consumer: c.handle(tx, message))
        return ran

    async def published(self, aggregate_id: str = "", *types: str) -> list[Envelope]:
        """What the context's handlers queued for publication (its outbox), oldest first:
        about `aggregate_id` and of `types`, if named."""
        rows = await self.db.read(lambda tx: tx.fetch_all(_OUTBOX))
        sent = [decode_envelope(row["envelope"]) for row in rows]
        return [
            m
            for m in sent
            if (not aggregate_id or m.aggregate_id == aggregate_id)
            and (not types or m.type in types)
        ]


@asynccontextmanager
async def consumers_of(
    context: ContextSpec, tmp_path: Path, settings: Settings | None = None
) -> AsyncIterator[Bus]:
    """`context`'s consumers, wired from `settings`, on its own database in `tmp_path`."""
    url = f"sqlite:///{tmp_path}"
    await migrate(url, context.name)
    db = await open_database(url, context.name)
    try:
        yield Bus(context, db, settings or Settings())
    finally:
        await db.close()
