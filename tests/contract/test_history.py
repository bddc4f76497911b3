"""The order history on SQLite and PostgreSQL, its consumer driven as a process drives it: an
event kept once however often it comes, a wave's release kept for each of its orders, and a
rebuild that finds, and mends, a live projection that no longer matches its history."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from orderly.fulfillment.messages import WaveReleased
from orderly.history import projections, store
from orderly.history.context import CONTEXT
from orderly.history.domain import FACT_COLUMNS
from orderly.ordering.messages import OrderConfirmed, OrderCreated, OrderLine
from orderly.storage import Database, open_database, sql
from orderly.storage.migrations import migrate
from tests.bus import Bus
from tests.conftest import needs_services
from tests.messages import told
from tests.services import create_pg_database, drop_pg_database
from tests.waiting import eventually


@pytest.fixture
async def bus(database_url: str) -> AsyncIterator[Bus]:
    await migrate(database_url, CONTEXT.name)
    db = await open_database(database_url, CONTEXT.name)
    try:
        yield Bus(CONTEXT, db)
    finally:
        await db.close()


def created(order_id: str, units: int = 2) -> OrderCreated:
    line = OrderLine(product_id="p-1", quantity=units, price=Decimal("5.00"))
    return OrderCreated(
        order_id=order_id,
        user_id="u-1",
        items=[line],
        total_amount=Decimal(5 * units),
        currency="USD",
        status="PENDING",
        channel="b2b",
        shipping_address={},
        account_id="PH-1",
    )


def confirmed(order_id: str) -> OrderConfirmed:
    return OrderConfirmed(
        order_id=order_id, user_id="u-1", total_amount=Decimal("10.00"), currency="USD"
    )


async def kept(db: Database, order_id: str) -> list[str]:
    rows = await db.read(lambda tx: tx.fetch_all(store.EVENTS_OF, {"order_id": order_id}))
    return [row["type"] for row in rows]


async def view(db: Database) -> dict[str, str]:
    rows = await db.read(
        lambda tx: tx.fetch_all(
            sql(
                "SELECT v.order_id, v.status FROM order_view v JOIN projections p"
                " ON p.name = 'orders' AND p.generation = v.generation"
            )
        )
    )
    return {row["order_id"]: row["status"] for row in rows}


async def test_an_event_is_kept_once_and_a_wave_for_each_of_its_orders(bus: Bus) -> None:
    placed = told(created("o-1"), "o-1")
    assert await bus.deliver(placed) == 1
    assert await bus.deliver(placed) == 0  # delivered again: nothing more
    await bus.deliver(told(created("o-2"), "o-2"))
    wave = WaveReleased(
        wave_id="w-1",
        dc="MAIN",
        zone="A",
        carrier="UPS",
        cutoff=datetime(2026, 12, 7, 17, tzinfo=UTC),
        order_ids=["o-1", "o-2"],
    )
    await bus.deliver(told(wave, "w-1"))

    assert await kept(bus.db, "o-1") == ["order.created", "wave.released"]
    assert await kept(bus.db, "o-2") == ["order.created", "wave.released"]
    assert await view(bus.db) == {"o-1": "WAVED", "o-2": "WAVED"}
    # the event table is the consumer's inbox: it writes no inbox row of its own
    inbox = await bus.db.read(lambda tx: tx.fetch_one(sql("SELECT COUNT(*) AS n FROM inbox")))
    assert inbox is not None
    assert inbox["n"] == 0


async def test_a_rebuild_finds_and_mends_a_live_projection_unlike_its_history(bus: Bus) -> None:
    for order_id in ("o-1", "o-2", "o-3"):
        await bus.deliver(told(created(order_id), order_id))
    await bus.deliver(told(confirmed("o-2"), "o-2"))
    assert await view(bus.db) == {"o-1": "RECEIVED", "o-2": "CONFIRMED", "o-3": "RECEIVED"}

    # a rebuild of a projection that matches its history finds nothing to mend
    assert (await projections.rebuild(bus.db, "orders")).differences == 0
    assert (await projections.rebuild(bus.db, "analytics")).differences == 0

    # given a live order view and analytics that went wrong
    await bus.db.transaction(
        lambda tx: tx.execute(
            sql("UPDATE order_view SET status = 'SHIPPED' WHERE order_id = 'o-3'")
        )
    )
    await bus.db.transaction(lambda tx: tx.execute(sql("UPDATE order_daily SET orders = 7")))

    # then each rebuild says so, and puts the history's figures in their place
    mended = await projections.rebuild(bus.db, "orders")
    assert (mended.differences, mended.events, mended.rows) == (2, 4, 3)
    assert await view(bus.db) == {"o-1": "RECEIVED", "o-2": "CONFIRMED", "o-3": "RECEIVED"}
    counted = await projections.rebuild(bus.db, "analytics")
    assert counted.differences == 2
    daily = await bus.db.read(
        lambda tx: tx.fetch_all(
            sql(
                "SELECT d.orders, d.confirmed, d.revenue_cents FROM order_daily d"
                " JOIN projections p ON p.name = 'analytics' AND p.generation = d.generation"
            )
        )
    )
    assert [dict(row) for row in daily] == [{"orders": 3, "confirmed": 1, "revenue_cents": 1000}]
    # the generations replaced are gone
    rows = await bus.db.read(
        lambda tx: tx.fetch_all(sql("SELECT DISTINCT generation FROM order_view"))
    )
    assert [row["generation"] for row in rows] == [3]


async def test_an_unknown_projection_is_refused(bus: Bus) -> None:
    with pytest.raises(projections.UnknownProjection):
        await projections.rebuild(bus.db, "everything")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@needs_services
async def test_an_event_folded_while_a_rebuild_switches_keeps_what_the_order_had(
    pg_url: str,
) -> None:
    """PostgreSQL: a live event that waits for a rebuild's switch (the projection's row held)
    folds into the order's row of the new generation, not onto nothing. (Locking the
    generations re-reads them once the switch commits; the order's row joined to the old
    generation is no longer the new one's.)"""
    await migrate(pg_url, CONTEXT.name)
    db = await open_database(pg_url, CONTEXT.name)
    switch = await asyncpg.connect(pg_url, server_settings={"search_path": CONTEXT.name})
    try:
        bus = Bus(CONTEXT, db)
        await bus.deliver(told(created("o-1", units=3), "o-1"))
        columns = ", ".join((*FACT_COLUMNS, "status"))
        held = switch.transaction()
        await held.start()
        # what a rebuild's switch does: hold the projection, the new generation written
        await switch.fetch("SELECT generation FROM projections WHERE name = 'orders' FOR UPDATE")
        await switch.execute(
            f"INSERT INTO order_view (generation, {columns})"
            f" SELECT 2, {columns} FROM order_view WHERE generation = 1"
        )
        await switch.execute("UPDATE projections SET generation = 2 WHERE name = 'orders'")
        delivering = asyncio.create_task(bus.deliver(told(confirmed("o-1"), "o-1")))
        database = pg_url.rsplit("/", 1)[1]

        async def waiting() -> bool:  # the event's transaction waits for the switch's lock
            if delivering.done():
                return True
            found = await switch.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                " AND wait_event_type = 'Lock'",
                database,
            )
            return bool(found)

        await eventually(waiting)
        await held.commit()
        assert await delivering == 1
        row = await switch.fetchrow(
            "SELECT units, status FROM order_view WHERE generation = 2 AND order_id = 'o-1'"
        )
        assert dict(row) == {"units": 3, "status": "CONFIRMED"}
    finally:
        await switch.close()
        await db.close()
