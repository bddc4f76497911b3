"""The auth audit: every login, second-factor and registration attempt, kept a while."""

from datetime import timedelta

import structlog

from orderly.identity import store
from orderly.identity.throttle import KNOWN_CLIENT_TTL
from orderly.kernel.aio import every
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx

log = structlog.get_logger(__name__)

# The audit is kept this long; the throttle reads at most a day of it.
AUDIT_RETENTION = timedelta(days=30)


async def record(
    db: Database, kind: str, outcome: str, email: str, client: str, *, event_id: str = ""
) -> None:
    event = {
        "id": event_id or new_id(),
        "kind": kind,
        "outcome": outcome,
        "email": email,
        "client": client or "-",
        "at": utcnow(),
    }

    async def work(tx: Tx) -> None:
        await tx.execute(store.INSERT_AUTH_EVENT, event)

    await db.transaction(work)


async def prune_audit(db: Database, *, batch: int = 1000) -> int:
    """Forget auth events older than AUDIT_RETENTION and addresses unused for
    KNOWN_CLIENT_TTL; the number of events deleted."""
    now = utcnow()
    params = {"before": now - AUDIT_RETENTION, "limit": batch}
    deleted = 0
    while True:
        count = await db.transaction(lambda tx: tx.execute(store.PRUNE_AUTH_EVENTS, params))
        deleted += count
        if count < batch:
            break
    known = {"before": now - KNOWN_CLIENT_TTL}
    await db.transaction(lambda tx: tx.execute(store.PRUNE_KNOWN_CLIENTS, known))
    return deleted


async def audit_keeper(db: Database, interval: float) -> None:
    """Every hour, prune the audit (`prune_audit`)."""
    await every(3600, lambda: prune_audit(db), "pruning the auth audit failed")
