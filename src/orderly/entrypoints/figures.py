"""Figures read from the databases when `/metrics` is asked: the outbox's backlog, the dead
letters waiting and the sagas by state, exact whatever process wrote them (counting them
where they change would count a retried transaction twice)."""

from datetime import datetime

from prometheus_client import Gauge

from orderly.kernel.clock import utcnow
from orderly.messaging.relay import outbox_status
from orderly.observability import DEAD_LETTERS, OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, SAGAS
from orderly.storage import Database, Statement, Tx, sql

# the contexts whose tables hold sagas (`sagas.store.define`)
SAGA_CONTEXTS = ("ordering", "fulfillment")
_SAGAS_BY_STATE = sql("SELECT kind, state, COUNT(*) AS n FROM sagas GROUP BY kind, state")
_DEAD_LETTERS_WAITING = sql(
    "SELECT consumer, COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY consumer"
)

# The labels each grouped gauge was given at the last scrape, per context: a group that has
# emptied since (every dead letter replayed, no saga left running) reads 0, not its old count.
_shown: dict[tuple[Gauge, str], set[tuple[str, ...]]] = {}


async def refresh(databases: dict[str, Database]) -> None:
    for name, db in databases.items():
        status = await outbox_status(db)
        pending, oldest = status["pending"], status["oldest_pending"]
        OUTBOX_PENDING.labels(name).set(pending if isinstance(pending, int) else 0)
        if isinstance(oldest, str):  # SQLite gives an aggregate's time as its text
            oldest = datetime.fromisoformat(oldest)
        waited = (utcnow() - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
        OUTBOX_OLDEST_SECONDS.labels(name).set(max(waited, 0.0))
        await _grouped(name, db, DEAD_LETTERS, _DEAD_LETTERS_WAITING, ("consumer",))
        if name in SAGA_CONTEXTS:
            await _grouped(name, db, SAGAS, _SAGAS_BY_STATE, ("kind", "state"))


async def _grouped(
    name: str, db: Database, gauge: Gauge, counts: Statement, columns: tuple[str, ...]
) -> None:
    """Set `gauge` for the context `name` to what `counts` reads, a count (`n`) per group of
    `columns`; the groups shown before and not read now are set to 0."""

    async def work(tx: Tx) -> dict[tuple[str, ...], int]:
        rows = await tx.fetch_all(counts)
        return {tuple(str(row[c]) for c in columns): int(row["n"]) for row in rows}

    found = await db.read(work)
    shown = _shown.setdefault((gauge, name), set())
    for gone in shown - found.keys():
        gauge.labels(name, *gone).set(0)
    for labels, n in found.items():
        gauge.labels(name, *labels).set(n)
    shown.update(found)
