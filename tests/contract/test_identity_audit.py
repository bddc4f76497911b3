"""The auth audit and the known addresses are pruned by age, on both databases."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from orderly.identity import audit, store
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx, open_database, sql
from orderly.storage.migrations import migrate

EVENTS = sql("SELECT email FROM auth_events ORDER BY email")
KNOWN = sql("SELECT email FROM known_clients ORDER BY email")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "identity")
    database = await open_database(database_url, "identity")
    try:
        yield database
    finally:
        await database.close()


async def test_events_and_addresses_older_than_thirty_days_are_pruned(db: Database) -> None:
    now = utcnow()
    ages = {"old": timedelta(days=31), "recent": timedelta(days=29)}

    async def work(tx: Tx) -> None:
        for email, age in ages.items():
            event = {"kind": "login", "outcome": "failure", "client": "192.0.2.1"}
            await tx.execute(
                store.INSERT_AUTH_EVENT, {**event, "id": new_id(), "email": email, "at": now - age}
            )
            known = {"email": email, "client": "192.0.2.1", "at": now - age}
            await tx.execute(store.REMEMBER_CLIENT, known)

    await db.transaction(work)
    assert await audit.prune_audit(db, batch=1) == 1
    events = await db.read(lambda tx: tx.fetch_all(EVENTS))
    known = await db.read(lambda tx: tx.fetch_all(KNOWN))
    assert [row["email"] for row in events] == ["recent"]
    assert [row["email"] for row in known] == ["recent"]
