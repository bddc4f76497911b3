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

    async def publish(self, message: Envelope) -> None:
        for consumer in self.consumers:
            if message.type in consumer.subscription.types:
                await consumer.deliver(message)

    async def published(self) -> list[Envelope]:
        """What the context's handlers emitted (its outbox), oldest first."""
        rows = await self.db.read(lambda tx: tx.fetch_all(_OUTBOX))
        return [decode_envelope(row["envelope"]) for row in rows]


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
