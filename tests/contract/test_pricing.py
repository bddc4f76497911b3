"""Price locks on a real database: a snapshot that holds, repeats safely, and voids once."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import orjson
import pytest

from orderly.kernel.ids import new_id
from orderly.ordering.messages import OrderLine
from orderly.pricing import contracts, handlers, locks, prices, quoting
from orderly.pricing.contracts import ContractLine, NewContract
from orderly.pricing.domain import ContractKind
from orderly.pricing.locks import LockLine
from orderly.storage import Database, open_database, sql
from orderly.storage.migrations import migrate
from tests.messages import account_created, order_cancelled, order_created, product_created

EVENTS = sql("SELECT type FROM outbox ORDER BY id")
ANNOUNCED = sql("SELECT envelope FROM outbox WHERE type = 'price.wac_changed' ORDER BY id")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "pricing")
    database = await open_database(database_url, "pricing")
    try:
        yield database
    finally:
        await database.close()


async def events(db: Database) -> list[str]:
    return [row["type"] for row in await db.read(lambda tx: tx.fetch_all(EVENTS))]


async def test_a_locked_price_holds_when_the_list_changes_and_voids_once(
    db: Database, today: date
) -> None:
    product_id, account = new_id(), f"PH-{new_id()[:5]}"
    created = product_created(product_id, price=Decimal("100.00"))
    opened = account_created(account)
    await db.transaction(lambda tx: handlers.wac_on_product_created(tx, created))
    await db.transaction(lambda tx: handlers.account_on_account_created(tx, opened))
    contract = await contracts.create_contract(
        db,
        NewContract(
            name="Independents 2026",
            kind=ContractKind.SEGMENT,
            party="independent",
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=30),
            lines=[ContractLine(product_id, Decimal("70.00"))],
        ),
    )
    lines = [LockLine("1", product_id, 3)]
    locked = await db.transaction(lambda tx: locks.lock_prices(tx, "order-1", account, lines))
    assert locked == [
        {
            "line": "1",
            "productId": product_id,
            "quantity": 3,
            "price": "70.00",
            "source": "contract",
            "contractId": contract["id"],
            "effectiveDate": (today - timedelta(days=30)).isoformat(),
            "status": "locked",
        }
    ]
    # the list price drops and a new lower contract appears: the lock does not move
    await prices.set_wac(db, product_id, Decimal("50.00"))
    assert (await quoting.price_for(db, account, product_id))["price"] == "50.00"
    again = await db.transaction(lambda tx: locks.lock_prices(tx, "order-1", account, lines))
    assert again == locked
    assert await locks.order_locks(db, "order-1") == locked
    # compensation voids it, once
    assert await db.transaction(lambda tx: locks.void_locks(tx, "order-1"))
    assert not await db.transaction(lambda tx: locks.void_locks(tx, "order-1"))
    assert [lock["status"] for lock in await locks.order_locks(db, "order-1")] == ["voided"]
    assert await events(db) == ["price.locked", "price.wac_changed", "price.lock_voided"]


async def test_a_line_without_a_price_locks_nothing(db: Database) -> None:
    priced, unpriced = new_id(), new_id()
    await prices.set_wac(db, priced, Decimal("5.00"))
    lines = [LockLine("1", priced, 1), LockLine("2", unpriced, 1)]
    with pytest.raises(quoting.NoPrice):
        await db.transaction(lambda tx: locks.lock_prices(tx, "order-2", None, lines))
    assert await locks.order_locks(db, "order-2") == []
    assert await events(db) == ["price.wac_changed"]


async def test_a_wac_set_ahead_is_announced_on_its_day_once(db: Database, today: date) -> None:
    product_id, tomorrow = new_id(), today + timedelta(days=1)
    await prices.set_wac(db, product_id, Decimal("5.00"))
    await prices.set_wac(db, product_id, Decimal("6.00"), tomorrow)
    assert await events(db) == ["price.wac_changed"]  # today's, at once
    assert await prices.announce_due_wacs(db, today) == 0
    assert await prices.announce_due_wacs(db, tomorrow) == 1
    assert await prices.announce_due_wacs(db, tomorrow) == 0
    announced = await db.read(lambda tx: tx.fetch_all(ANNOUNCED))
    assert [orjson.loads(row["envelope"])["data"] for row in announced] == [
        {"productId": product_id, "price": "5.00", "effectiveDate": today.isoformat()},
        {"productId": product_id, "price": "6.00", "effectiveDate": tomorrow.isoformat()},
    ]


async def test_a_cancellation_heard_before_its_order_leaves_no_live_lock(db: Database) -> None:
    """The order's two messages share one queue, but a retried one may come late."""
    product_id, order_id = new_id(), new_id()
    cancelled = order_cancelled(order_id)
    line = OrderLine(product_id=product_id, quantity=2, price=Decimal("3.00"))
    created = order_created(order_id, [line])
    await db.transaction(lambda tx: handlers.locks_follow_orders(tx, cancelled))
    await db.transaction(lambda tx: handlers.locks_follow_orders(tx, created))
    assert await locks.order_locks(db, order_id) == []
    assert await events(db) == []
