"""Fulfillment's waves on every database: an order joins the oldest open wave of its lane
that has room for it, past the full ones, or opens a new one."""

from collections.abc import AsyncIterator
from datetime import time

import pytest

from orderly.fulfillment import floor, store
from orderly.fulfillment.picking import ShortPolicy
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.fulfillment.waves import WaveRules
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx, open_database
from orderly.storage.migrations import migrate

RULES = FulfillmentPolicy(
    carrier="UPS",
    cutoff=time(23, 59),
    waves=WaveRules(max_lines=10, max_units=5),
    short=ShortPolicy("backorder"),
    floor_wait=1,
    ship_wait=1,
    delivery_wait=1,
)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "fulfillment")
    opened = await open_database(database_url, "fulfillment")
    try:
        yield opened
    finally:
        await opened.close()


async def joined(db: Database, units: int, dc: str = "MAIN") -> str:
    """The wave an order of `units` units of one product joins."""
    order_id = new_id()
    allocation = [{"product_id": "P-1", "dc": dc, "quantity": units}]

    async def work(tx: Tx) -> str:
        await floor.join_waves(tx, RULES, order_id, allocation)
        rows = await tx.fetch_all(store.WAVES_OF_ORDER, {"order_id": order_id})
        return str(rows[0]["wave_id"])

    return await db.transaction(work)


async def test_an_order_joins_the_oldest_wave_with_room_past_full_ones(db: Database) -> None:
    first = await joined(db, 3)
    second = await joined(db, 3)  # 6 units would not fit the first
    assert second != first
    assert await joined(db, 2) == first  # the oldest with room, though a newer one has it too
    assert await joined(db, 2) == second  # the first is full now: the next with room
    third = await joined(db, 1)
    assert third not in (first, second)  # both full: a new one
    assert await joined(db, 1, dc="EAST") not in (first, second, third)  # another lane
