"""Inventory on a real database, SQLite and PostgreSQL alike: it never promises a unit twice."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import pytest

from orderly.config import Settings
from orderly.inventory import handlers, service
from orderly.inventory.domain import LotStatus
from orderly.inventory.messages import Units
from orderly.inventory.policy import policy
from orderly.inventory.service import Line, Receipt
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx, open_database, sql
from orderly.storage.migrations import migrate
from tests.messages import product_created

TODAY = utcnow().date()
POLICY = policy(Settings())
# a cart hold that has run out by the time it is made
LAPSED = replace(POLICY, soft_ttl=timedelta(seconds=-1))
RELEASED = sql("SELECT COUNT(*) AS n FROM outbox WHERE type = 'inventory.released'")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "inventory")
    database = await open_database(database_url, "inventory")
    try:
        yield database
    finally:
        await database.close()


async def product(db: Database, *lots: tuple[str, int, date | None], dc: str = "MAIN") -> str:
    product_id = new_id()
    created = product_created(product_id, product_id[:8])
    await db.transaction(lambda tx: handlers.add_item_on_product_created(tx, created))
    for lot, units, expires in lots:
        await service.receive(db, Receipt(product_id, units, lot, expires, dc))
    return product_id


async def atp(db: Database, product_id: str) -> int:
    return int((await service.position(db, product_id))["atp"])


async def reserve(db: Database, reference: str, product_id: str, quantity: int) -> bool:
    async def work(tx: Tx) -> bool:
        outcome = await service.hard_reserve(tx, reference, [Line("1", product_id, quantity)])
        return outcome.reserved

    return await db.transaction(work)


async def test_200_concurrent_checkouts_for_100_units_reserve_exactly_100(db: Database) -> None:
    product_id = await product(db, ("L1", 60, TODAY + timedelta(days=400)), ("L2", 40, None))

    outcomes = await asyncio.gather(*(reserve(db, f"order-{n}", product_id, 1) for n in range(200)))

    assert outcomes.count(True) == 100
    position = await service.position(db, product_id)
    assert position["atp"] == 0
    assert sum(lot["reserved"] for lot in position["lots"]) == 100
    assert all(0 <= lot["reserved"] <= lot["on_hand"] for lot in position["lots"])


async def test_a_reservation_repeated_for_the_same_order_line_changes_nothing(
    db: Database,
) -> None:
    product_id = await product(db, ("L1", 10, None))
    first = await db.transaction(
        lambda tx: service.hard_reserve(tx, "order-1", [Line("1", product_id, 4)])
    )
    again = await db.transaction(
        lambda tx: service.hard_reserve(tx, "order-1", [Line("1", product_id, 4)])
    )
    assert first == again
    assert first.reserved
    assert await atp(db, product_id) == 6


async def test_an_order_is_reserved_whole_or_not_at_all(db: Database) -> None:
    plenty = await product(db, ("L1", 10, None))
    scarce = await product(db, ("L1", 1, None))
    outcome = await db.transaction(
        lambda tx: service.hard_reserve(tx, "order-2", [Line("1", plenty, 5), Line("2", scarce, 2)])
    )
    assert not outcome.reserved
    assert outcome.items == [{"productId": scarce, "requested": 2, "available": 1}]
    assert await atp(db, plenty) == 10
    assert await atp(db, scarce) == 1


async def test_fefo_skips_lots_too_short_dated_for_the_customer(db: Database) -> None:
    # the pharma rules' worked example, in days from today
    product_id = await product(
        db,
        ("A", 40, TODAY + timedelta(days=75)),
        ("B", 100, TODAY + timedelta(days=381)),
        ("C", 60, TODAY + timedelta(days=531)),
    )
    assert await reserve(db, "earlier", product_id, 40 + 50)  # takes all of A, 50 of B
    await service.set_safety_stock(db, product_id, "MAIN", 20)
    outcome = await db.transaction(
        lambda tx: service.hard_reserve(
            tx, "order-3", [Line("1", product_id, 70)], shelf_life_days=180
        )
    )
    assert outcome.reserved
    assert [(lot["lot"], lot["quantity"]) for lot in outcome.items[0]["lots"]] == [
        ("B", 50),
        ("C", 20),
    ]


async def test_quarantine_blocks_a_lot_and_release_gives_it_back(db: Database) -> None:
    product_id = await product(db, ("Q", 30, None), ("OK", 5, None))
    lots = (await service.position(db, product_id))["lots"]
    lot_id = next(lot["lot_id"] for lot in lots if lot["lot"] == "Q")
    await service.set_lot_status(db, lot_id, LotStatus.QUARANTINED)
    assert await atp(db, product_id) == 5
    assert not await reserve(db, "order-4", product_id, 6)
    await service.set_lot_status(db, lot_id, LotStatus.RELEASED)
    assert await reserve(db, "order-4", product_id, 6)


async def test_soft_holds_count_until_they_expire_and_convert_at_checkout(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    held = await db.transaction(
        lambda tx: service.soft_reserve(tx, "cart-1", product_id, 8, POLICY)
    )
    assert held
    assert await atp(db, product_id) == 2
    # another cart cannot have what is held; the holder's checkout can
    assert not await db.transaction(
        lambda tx: service.soft_reserve(tx, "cart-2", product_id, 3, POLICY)
    )
    converted = await db.transaction(
        lambda tx: service.hard_reserve(
            tx, "order-5", [Line("1", product_id, 8)], soft_reference="cart-1"
        )
    )
    assert converted.reserved
    assert await atp(db, product_id) == 2
    # a hold that lapses stops counting at once, and the sweep records it
    await db.transaction(lambda tx: service.soft_reserve(tx, "cart-3", product_id, 2, LAPSED))
    assert await atp(db, product_id) == 2
    assert await service.sweep_expired(db) == 1
    released = await db.read(lambda tx: tx.fetch_one(RELEASED))
    assert released is not None
    assert released["n"] == 1


async def test_release_and_pick_move_the_units(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    assert await reserve(db, "order-6", product_id, 3)
    assert await reserve(db, "order-7", product_id, 4)
    given_back = await db.transaction(lambda tx: service.release(tx, "order-6", "cancelled"))
    assert given_back == [Units(product_id=product_id, quantity=3)]
    assert await db.transaction(lambda tx: service.release(tx, "order-6", "cancelled")) == []
    assert await db.transaction(lambda tx: service.pick(tx, "order-7")) == 4
    assert await db.transaction(lambda tx: service.pick(tx, "order-7")) == 0
    position = await service.position(db, product_id)
    assert position["lots"][0]["on_hand"] == 6
    assert position["lots"][0]["reserved"] == 0
    assert position["atp"] == 6
