"""Figures read from the databases when `/metrics` is asked: the outbox's backlog and the
sagas by state, exact whatever process wrote them (counting them where they change would
count a retried transaction twice)."""

from datetime import datetime

from orderly.kernel.clock import utcnow
from orderly.messaging.relay import outbox_status
from orderly.observability import OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, SAGAS
from orderly.storage import Database, Tx, sql

# the contexts whose tables hold sagas (`sagas.store.define`)
SAGA_CONTEXTS = ("ordering", "fulfillment")
_SAGAS_BY_STATE = sql("SELECT kind, state, COUNT(*) AS n FROM sagas GROUP BY kind, state")


async def refresh(databases: dict[str, Database]) -> None:
    for name, db in databases.items():
        status = await outbox_status(db)
        pending, oldest = status["pending"], status["oldest_pending"]
        OUTBOX_PENDING.labels(name).set(pending if isinstance(pending, int) else 0)
        if isinstance(oldest, str):  # SQLite gives an aggregate's time as its text
            oldest = datetime.fromisoformat(oldest)
        waited = (utcnow() - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
        OUTBOX_OLDEST_SECONDS.labels(name).set(max(waited, 0.0))
        if name in SAGA_CONTEXTS:
            await _sagas(name, db)


async def _sagas(name: str, db: Database) -> None:
    async def work(tx: Tx) -> None:
        for row in await tx.fetch_all(_SAGAS_BY_STATE):
            SAGAS.labels(name, row["kind"], row["state"]).set(int(row["n"]))

    await db.read(work)
