"""A direct order's hold on SQLite and PostgreSQL: made before the order, confirmed by its
`order.created`, given back when no order confirms it in time."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from orderly.config import Settings
from orderly.inventory import handlers, provisional, service
from orderly.inventory.messages import Units
from orderly.inventory.policy import policy
from orderly.kernel.ids import new_id
from orderly.messaging.envelope import Envelope
from orderly.ordering.messages import OrderLine
from orderly.storage import Database, open_database, sql
from orderly.storage.migrations import migrate
from tests.contract.test_inventory import atp, product
from tests.messages import order_created

ANSWERS = sql("SELECT type FROM outbox WHERE aggregate_id = :order_id ORDER BY id")
# a hold that has run out by the time it is made: the deployment's default is minutes
AT_ONCE = timedelta(0)
POLICY = policy(Settings())
HOLD = POLICY.hold_ttl


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "inventory")
    database = await open_database(database_url, "inventory")
    try:
        yield database
    finally:
        await database.close()


def created(order_id: str, product_id: str, quantity: int) -> Envelope:
    return order_created(order_id, [OrderLine(product_id=product_id, quantity=quantity)], held=True)


async def confirm(db: Database, order_id: str, product_id: str, quantity: int) -> list[str]:
    """Deliver the order's `order.created`; the types inventory answered with."""
    message = created(order_id, product_id, quantity)
    await db.transaction(lambda tx: handlers.reserve_on_order_created(tx, message))
    rows = await db.read(lambda tx: tx.fetch_all(ANSWERS, {"order_id": order_id}))
    return [row["type"] for row in rows]


async def test_50_concurrent_holds_for_20_units_hold_exactly_20(db: Database) -> None:
    product_id = await product(db, ("L1", 20, None))

    outcomes = await asyncio.gather(
        *(provisional.hold(db, new_id(), [(product_id, 1)], ttl=HOLD) for _ in range(50))
    )

    assert [o.reserved for o in outcomes].count(True) == 20
    assert await atp(db, product_id) == 0
    refused = [o for o in outcomes if not o.reserved]
    assert provisional.short_lines(refused[0]) == [
        {"product_id": product_id, "requested": 1, "available": 0, "is_available": False}
    ]


async def test_a_hold_is_idempotent_per_order(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    order_id = new_id()

    first = await provisional.hold(db, order_id, [(product_id, 4)], ttl=HOLD)
    again = await provisional.hold(db, order_id, [(product_id, 4)], ttl=HOLD)

    assert first.reserved
    assert again.reserved
    assert await atp(db, product_id) == 6


async def test_an_unknown_product_is_refused_and_nothing_is_held(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))

    with pytest.raises(service.ProductNotFound):
        await provisional.hold(db, new_id(), [(product_id, 1), ("no-such-product", 1)], ttl=HOLD)

    assert await atp(db, product_id) == 10


async def test_a_confirmed_hold_outlives_its_time_and_cannot_be_let_go(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    order_id = new_id()
    await provisional.hold(db, order_id, [(product_id, 3)], ttl=AT_ONCE)

    answers = await confirm(db, order_id, product_id, 3)
    swept = await provisional.sweep_expired(db)

    assert answers == ["inventory.reserved"]
    assert swept == 0
    assert await atp(db, product_id) == 7
    with pytest.raises(provisional.HoldConfirmed):
        await provisional.let_go(db, order_id)


async def test_a_hold_no_order_confirms_is_given_back_when_it_runs_out(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    await provisional.hold(db, new_id(), [(product_id, 3)], ttl=AT_ONCE)
    assert await atp(db, product_id) == 7

    swept = await provisional.sweep_expired(db)

    assert swept == 1
    assert await atp(db, product_id) == 10


async def test_an_order_whose_hold_ran_out_is_reserved_anew_when_its_message_comes(
    db: Database,
) -> None:
    product_id = await product(db, ("L1", 10, None))
    order_id = new_id()
    await provisional.hold(db, order_id, [(product_id, 3)], ttl=AT_ONCE)
    await provisional.sweep_expired(db)

    answers = await confirm(db, order_id, product_id, 3)

    assert answers == ["inventory.released", "inventory.reserved"]
    assert await atp(db, product_id) == 7
    assert await provisional.sweep_expired(db) == 0  # confirmed now: it stays


async def test_a_hold_let_go_gives_its_units_back_at_once(db: Database) -> None:
    product_id = await product(db, ("L1", 10, None))
    order_id = new_id()
    await provisional.hold(db, order_id, [(product_id, 4)], ttl=HOLD)

    released = await provisional.let_go(db, order_id)

    assert released == [Units(product_id=product_id, quantity=4)]
    assert await atp(db, product_id) == 10
    # its order, were it written after all, would not take the units again
    assert await confirm(db, order_id, product_id, 4) == [
        "inventory.released",
        "inventory.insufficient",
    ]


async def test_a_hold_takes_over_its_customers_own_cart_hold_but_not_anothers(
    db: Database,
) -> None:
    # given 10 units, 4 of them held by alice's cart
    product_id = await product(db, ("L1", 10, None))
    cart = new_id()
    alice = service.Holder(customer_id="alice")
    await db.transaction(
        lambda tx: service.soft_reserve(tx, cart, product_id, 4, POLICY, holder=alice)
    )

    # when mallory's order names alice's cart, her hold does not count for it
    mallory = await provisional.hold(
        db, new_id(), [(product_id, 8)], customer="mallory", cart_id=cart, ttl=HOLD
    )
    # while alice's own order takes her cart's 4 over
    mine = await provisional.hold(
        db, new_id(), [(product_id, 4)], customer="alice", cart_id=cart, ttl=HOLD
    )

    assert not mallory.reserved
    assert mine.reserved
    assert await atp(db, product_id) == 6
