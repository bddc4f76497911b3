"""The Database port behaves the same on SQLite and PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from orderly.messaging import emit
from orderly.storage import Database, Tx, open_database, sql
from orderly.storage.database import Work
from orderly.storage.migrations import migrate
from tests.messages import Pinged, told

CREATE = sql("CREATE TABLE IF NOT EXISTS probes (id VARCHAR(36) PRIMARY KEY, n INTEGER NOT NULL)")
INSERT = sql("INSERT INTO probes (id, n) VALUES (:id, :n)")
COUNT = sql("SELECT COUNT(*) AS n FROM probes")
GET = sql("SELECT id, n FROM probes WHERE id = :id")
AMONG = sql("SELECT id FROM probes WHERE id IN :ids AND n >= :least ORDER BY id", lists=["ids"])


class Boom(Exception):
    pass


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "ordering")
    database = await open_database(database_url, "ordering")
    await database.transaction(lambda tx: tx.execute(CREATE))
    try:
        yield database
    finally:
        await database.close()


async def count(db: Database) -> int:
    row = await db.read(lambda tx: tx.fetch_one(COUNT))
    assert row is not None
    return int(row["n"])


async def test_committed_work_is_visible_and_returns_its_result(db: Database) -> None:
    async def work(tx: Tx) -> str:
        await tx.execute(INSERT, {"id": "a", "n": 1})
        return "done"

    assert await db.transaction(work) == "done"
    row = await db.read(lambda tx: tx.fetch_one(GET, {"id": "a"}))
    assert row == {"id": "a", "n": 1}


async def test_failed_work_leaves_nothing_behind(db: Database) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(INSERT, {"id": "a", "n": 1})
        await emit(tx, told(Pinged()))
        raise Boom

    with pytest.raises(Boom):
        await db.transaction(work)
    assert await count(db) == 0
    outbox = await db.read(lambda tx: tx.fetch_one(sql("SELECT COUNT(*) AS n FROM outbox")))
    assert outbox is not None
    assert outbox["n"] == 0


async def test_concurrent_units_commit_independently(db: Database) -> None:
    # given 200 concurrent units of work, every seventh of which fails
    async def unit(i: int) -> int:
        async def work(tx: Tx) -> int:
            await tx.execute(INSERT, {"id": f"u{i}", "n": i})
            if i % 7 == 0:
                raise Boom(i)
            return i

        return await db.transaction(work)

    outcomes = await asyncio.gather(*(unit(i) for i in range(200)), return_exceptions=True)
    # then each failure is its own and every other unit committed
    failed = [o for o in outcomes if isinstance(o, Boom)]
    assert len(failed) == len([i for i in range(200) if i % 7 == 0])
    assert await count(db) == 200 - len(failed)


async def test_unique_violation_fails_only_that_unit(db: Database) -> None:
    await db.transaction(lambda tx: tx.execute(INSERT, {"id": "dup", "n": 1}))
    outcomes = await asyncio.gather(
        db.transaction(lambda tx: tx.execute(INSERT, {"id": "dup", "n": 2})),
        db.transaction(lambda tx: tx.execute(INSERT, {"id": "other", "n": 3})),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Exception)
    assert outcomes[1] == 1
    assert await count(db) == 2


async def test_commit_listeners_hear_only_outbox_writes(db: Database) -> None:
    heard: list[str] = []
    db.on_commit(lambda: heard.append("commit"))
    await db.transaction(lambda tx: tx.execute(INSERT, {"id": "quiet", "n": 1}))
    assert heard == []

    async def loud(tx: Tx) -> None:
        await emit(tx, told(Pinged(x=1)))

    await db.transaction(loud)
    assert heard == ["commit"]


async def test_after_commit_runs_once_for_work_that_committed_and_never_otherwise(
    db: Database,
) -> None:
    # given 60 concurrent units of work that each ask to be told of their commit, every
    # fifth failing after asking (on SQLite, its batch is undone and run again)
    told_of: list[int] = []

    def unit(i: int) -> Work[None]:
        async def work(tx: Tx) -> None:
            tx.after_commit(lambda: told_of.append(i))
            await tx.execute(INSERT, {"id": f"c{i}", "n": i})
            if i % 5 == 0:
                raise Boom(i)

        return work

    await asyncio.gather(*(db.transaction(unit(i)) for i in range(60)), return_exceptions=True)
    # then each unit that committed was told once, and none that failed
    assert sorted(told_of) == [i for i in range(60) if i % 5]
    assert await count(db) == 48
    # an autocommitted unit is told too, once its work is done
    await db.autocommit(unit(61))
    assert told_of[-1] == 61


async def test_autocommit_commits_each_statement_and_tells_the_relay(db: Database) -> None:
    heard: list[str] = []
    db.on_commit(lambda: heard.append("commit"))

    async def work(tx: Tx) -> str:
        await tx.execute(INSERT, {"id": "one", "n": 1})
        await emit(tx, told(Pinged(x=1)))
        return "done"

    assert await db.autocommit(work) == "done"
    assert await count(db) == 1
    assert heard == ["commit"]
    # a failing statement takes only itself back
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await db.autocommit(lambda tx: tx.execute(INSERT, {"id": "one", "n": 2}))
    assert await count(db) == 1


async def test_json_and_aware_datetimes_round_trip(db: Database) -> None:
    moment = datetime(2024, 1, 15, 14, 30, 0, 123456, tzinfo=UTC)
    address = {"line1": "1 Main", "nested": {"n": [1, 2]}}

    async def work(tx: Tx) -> None:
        await tx.execute(
            sql(
                "INSERT INTO orders (id, status, shipping_address, created_at, updated_at, version)"
                " VALUES ('o1', 'PENDING_SHIPMENT', :address, :at, :at, 1)"
            ),
            {"address": address, "at": moment},
        )

    await db.transaction(work)
    row = await db.read(
        lambda tx: tx.fetch_one(
            sql("SELECT shipping_address, created_at FROM orders WHERE id = 'o1'")
        )
    )
    assert row is not None
    assert row["shipping_address"] == address
    assert row["created_at"] == moment
    assert row["created_at"].tzinfo is not None


@pytest.mark.parametrize(
    ("ids", "found"),
    [
        pytest.param(["c", "b", "zz", "b"], ["b", "c"], id="unknown-and-repeated"),
        pytest.param(["a", "c"], ["c"], id="one-the-other-condition-leaves-out"),
        pytest.param(["zz"], [], id="none-known"),
        pytest.param([], [], id="empty"),
        pytest.param([f"u{n}" for n in range(99)] + ["b"], ["b"], id="a-hundred"),
    ],
)
async def test_a_list_parameter_is_a_set_to_test_against(
    db: Database, ids: list[str], found: list[str]
) -> None:
    for n, key in enumerate(("a", "b", "c")):
        await db.transaction(lambda tx, key=key, n=n: tx.execute(INSERT, {"id": key, "n": n}))

    rows = await db.read(lambda tx: tx.fetch_all(AMONG, {"ids": ids, "least": 1}))

    assert [row["id"] for row in rows] == found


def test_a_list_parameter_must_be_written_in() -> None:
    with pytest.raises(AssertionError):
        sql("SELECT id FROM probes WHERE id NOT IN :ids", lists=["ids"])


async def test_postgresql_round_trips_are_counted_with_begin_and_commit(db: Database) -> None:
    """`orderly_database_round_trips_total`: each statement, and a transaction's BEGIN and
    COMMIT (SQLite runs in the process: it has none to count)."""
    from prometheus_client import REGISTRY

    def trips() -> float:
        found = REGISTRY.get_sample_value(
            "orderly_database_round_trips_total", {"database": "ordering"}
        )
        return found or 0.0

    before = trips()

    async def two(tx: Tx) -> None:
        await tx.execute(INSERT, {"id": "a", "n": 1})
        await tx.fetch_one(GET, {"id": "a"})

    await db.transaction(two)
    await db.autocommit(lambda tx: tx.execute(INSERT, {"id": "b", "n": 2}))
    await count(db)
    expected = {"postgresql": (2 + 2) + 1 + (1 + 2), "sqlite": 0}[db.dialect]
    assert trips() - before == expected


async def test_the_version_moves_with_every_commit_by_anyone_and_only_then(
    db: Database, database_url: str
) -> None:
    before = db.version()
    if db.dialect == "postgresql":  # not known cheaply: nothing may be kept on it
        assert before is None
        return
    # reads move nothing
    await count(db)
    assert db.version() == before
    # a commit of this database's own writer moves it
    await db.transaction(lambda tx: tx.execute(INSERT, {"id": "a", "n": 1}))
    mine = db.version()
    assert mine != before
    # and so does a commit by another writer of the same file (another process's)
    other = await open_database(database_url, "ordering")
    try:
        await other.transaction(lambda tx: tx.execute(INSERT, {"id": "b", "n": 2}))
    finally:
        await other.close()
    assert db.version() not in (before, mine)
