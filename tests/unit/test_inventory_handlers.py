"""Inventory's message handlers, through its wiring: each message is delivered to the
consumers `wire(settings)` subscribes to its type, on a real SQLite database, no server.
What counts is what they leave: the stock, the holds and the messages in the outbox. The
module's tests share one database (it takes a second to close): each has its own products,
carts and orders."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from orderly.config import Settings
from orderly.contexts import Wired
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.inventory import provisional, service
from orderly.inventory.context import wire
from orderly.inventory.messages import ReleaseInventory, ReserveInventory, Units
from orderly.inventory.policy import policy
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, Message, new_message
from orderly.messaging.envelope import decode_envelope
from orderly.ordering.messages import CartItemAdded, CartItemRemoved, OrderCreated, OrderLine
from orderly.storage import Database, open_database, sql
from orderly.storage.migrations import migrate
from tests.messages import account_created, order_cancelled, product_created, told
from tests.waiting import eventually

EMITTED = sql("SELECT envelope FROM outbox WHERE aggregate_id = :reference ORDER BY id")
HOLD = timedelta(minutes=15)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path_factory.mktemp('inventory-handlers') / 'var'}"
    await migrate(url, "inventory")
    database = await open_database(url, "inventory")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def wired() -> Wired:
    return wire(Settings())


@pytest.fixture
def order_id() -> str:
    return new_id()


@pytest.fixture
def cart() -> str:
    return new_id()


async def deliver(db: Database, wired: Wired, message: Envelope) -> None:
    """What the consumers do with `message`, each in its own transaction."""
    handlers = [s.handler for s in wired.subscriptions if message.type in s.types]
    assert handlers, f"inventory does not consume {message.type}"
    for handler in handlers:
        await db.transaction(lambda tx, handle=handler: handle(tx, message))


async def emitted(db: Database, reference: str) -> list[Envelope]:
    rows = await db.read(lambda tx: tx.fetch_all(EMITTED, {"reference": reference}))
    return [decode_envelope(row["envelope"]) for row in rows]


async def stocked(db: Database, wired: Wired, units: int) -> str:
    product_id = new_id()
    await deliver(db, wired, product_created(product_id, product_id[:8], stock=units))
    return product_id


async def figure(db: Database, product_id: str, name: str) -> int:
    return int((await service.position(db, product_id))[name])


def cart_line(cart: str, product_id: str, quantity: int, hold: int | None = None) -> Envelope:
    held = quantity if hold is None else hold
    body = CartItemAdded(
        cart_id=cart, product_id=product_id, quantity=quantity, hold=held, customer_id="alice"
    )
    return told(body, cart)


def order(order_id: str, product_id: str, quantity: int, **flags: Any) -> Envelope:
    body = OrderCreated(
        order_id=order_id,
        user_id="alice",
        items=[OrderLine(product_id=product_id, quantity=quantity)],
        total_amount=None,
        currency="USD",
        status="PENDING_SHIPMENT",
        channel="direct",
        shipping_address={},
        **flags,
    )
    return told(body, order_id)


def saga_command(body: Message, order_id: str) -> Envelope:
    return new_message(body, source="ordering", aggregate_id=order_id, saga_id="saga-7")


async def test_a_product_created_is_stocked_with_its_initial_units(
    db: Database, wired: Wired
) -> None:
    product_id = await stocked(db, wired, 12)

    assert await figure(db, product_id, "on_hand") == 12
    assert await figure(db, product_id, "atp") == 12


async def test_a_cart_line_holds_its_units_for_the_deployments_hold_time(
    db: Database, cart: str
) -> None:
    wired = wire(Settings(soft_reservation_ttl=120))
    product_id = await stocked(db, wired, 10)

    await deliver(db, wired, cart_line(cart, product_id, 4))

    assert await figure(db, product_id, "soft_reserved") == 4
    assert await figure(db, product_id, "atp") == 6
    [hold] = await service.holds(db, product_id)
    assert (hold["cart_id"], hold["customer_id"], hold["quantity"]) == (cart, "alice", 4)
    assert hold["expires_at"] - hold["first_held_at"] == timedelta(seconds=120)


async def test_a_cart_line_holds_no_more_than_the_customer_may(
    db: Database, wired: Wired, cart: str
) -> None:
    product_id = await stocked(db, wired, 10)

    await deliver(db, wired, cart_line(cart, product_id, 5, hold=2))

    assert await figure(db, product_id, "soft_reserved") == 2


async def test_a_cart_line_of_more_than_is_available_or_of_an_unknown_product_holds_nothing(
    db: Database, wired: Wired, cart: str
) -> None:
    product_id = await stocked(db, wired, 3)

    await deliver(db, wired, cart_line(cart, product_id, 4))
    await deliver(db, wired, cart_line(cart, "no-such-product", 1))

    assert await figure(db, product_id, "soft_reserved") == 0
    assert await service.holds(db, product_id) == []


async def test_a_line_leaving_the_cart_lets_its_hold_go(
    db: Database, wired: Wired, cart: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await deliver(db, wired, cart_line(cart, product_id, 4))

    await deliver(db, wired, told(CartItemRemoved(cart_id=cart, product_id=product_id)))

    assert await figure(db, product_id, "soft_reserved") == 0
    assert await figure(db, product_id, "atp") == 10


async def test_an_order_created_reserves_its_lines_and_says_so(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)

    await deliver(db, wired, order(order_id, product_id, 7))

    [answer] = await emitted(db, order_id)
    assert answer.type == "inventory.reserved"
    assert answer.data["items"][0]["quantity"] == 7
    assert await figure(db, product_id, "hard_reserved") == 7


async def test_an_order_created_takes_over_its_carts_hold(
    db: Database, wired: Wired, order_id: str, cart: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await deliver(db, wired, cart_line(cart, product_id, 10))

    await deliver(db, wired, order(order_id, product_id, 10, cart_id=cart))

    assert [m.type for m in await emitted(db, order_id)] == ["inventory.reserved"]
    assert await figure(db, product_id, "hard_reserved") == 10
    assert await figure(db, product_id, "soft_reserved") == 0


async def test_an_order_created_short_of_stock_says_it_is_insufficient(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 3)

    await deliver(db, wired, order(order_id, product_id, 4))

    [answer] = await emitted(db, order_id)
    assert answer.type == "inventory.insufficient"
    assert answer.data["items"] == [{"productId": product_id, "requested": 4, "available": 3}]
    assert await figure(db, product_id, "hard_reserved") == 0


async def test_an_order_created_whose_stock_is_held_confirms_the_hold(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await provisional.hold(db, order_id, [(product_id, 6)], ttl=HOLD)

    await deliver(db, wired, order(order_id, product_id, 6, held=True))

    [answer] = await emitted(db, order_id)
    assert answer.type == "inventory.reserved"
    assert await figure(db, product_id, "hard_reserved") == 6  # the hold's, not twice
    with pytest.raises(provisional.HoldConfirmed):
        await provisional.let_go(db, order_id)


async def test_an_order_created_whose_hold_ran_out_is_reserved_anew(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await provisional.hold(db, order_id, [(product_id, 6)], ttl=timedelta(0))
    await provisional.sweep_expired(db)

    await deliver(db, wired, order(order_id, product_id, 6, held=True))

    types = [m.type for m in await emitted(db, order_id)]
    assert types == ["inventory.released", "inventory.reserved"]
    assert await figure(db, product_id, "hard_reserved") == 6


async def test_an_orchestrated_order_created_waits_for_its_sagas_command(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)

    await deliver(db, wired, order(order_id, product_id, 6, orchestrated=True))

    assert await emitted(db, order_id) == []
    assert await figure(db, product_id, "hard_reserved") == 0


async def test_a_sagas_reserve_is_answered_to_its_saga(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)
    items = [Units(product_id=product_id, quantity=6)]

    await deliver(
        db, wired, saga_command(ReserveInventory(order_id=order_id, items=items), order_id)
    )

    [answer] = await emitted(db, order_id)
    assert (answer.type, answer.saga_id) == ("inventory.reserved", "saga-7")
    assert await figure(db, product_id, "hard_reserved") == 6


async def test_a_sagas_release_gives_the_units_back_and_answers_its_saga(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await deliver(db, wired, order(order_id, product_id, 6))

    release = ReleaseInventory(order_id=order_id, reason="payment_failed")
    await deliver(db, wired, saga_command(release, order_id))

    answer = (await emitted(db, order_id))[-1]
    assert (answer.type, answer.saga_id) == ("inventory.released", "saga-7")
    assert answer.data["reason"] == "payment_failed"
    assert answer.data["items"] == [{"productId": product_id, "quantity": 6}]
    assert await figure(db, product_id, "hard_reserved") == 0


async def test_a_sagas_release_of_nothing_held_is_answered_all_the_same(
    db: Database, wired: Wired, order_id: str
) -> None:
    release = ReleaseInventory(order_id=order_id, reason="payment_failed")

    await deliver(db, wired, saga_command(release, order_id))

    [answer] = await emitted(db, order_id)
    assert (answer.type, answer.saga_id) == ("inventory.released", "saga-7")
    assert (answer.data["reason"], answer.data["items"]) == ("nothing_held", [])


async def test_an_order_cancelled_gives_its_units_back(
    db: Database, wired: Wired, order_id: str
) -> None:
    product_id = await stocked(db, wired, 10)
    await deliver(db, wired, order(order_id, product_id, 6))

    await deliver(db, wired, order_cancelled(order_id))

    answer = (await emitted(db, order_id))[-1]
    assert (answer.type, answer.data["reason"]) == ("inventory.released", "cancelled")
    assert await figure(db, product_id, "hard_reserved") == 0
    assert await figure(db, product_id, "atp") == 10


async def test_a_shipped_order_is_picked(db: Database, wired: Wired, order_id: str) -> None:
    product_id = await stocked(db, wired, 10)
    await deliver(db, wired, order(order_id, product_id, 6))

    shipped = OrderStatusUpdated(
        order_id=order_id, previous_status="PENDING_SHIPMENT", current_status="SHIPPED"
    )
    await deliver(db, wired, told(shipped, order_id))

    assert await figure(db, product_id, "on_hand") == 4
    assert await figure(db, product_id, "hard_reserved") == 0


async def test_an_account_created_may_be_given_a_shelf_life(db: Database, wired: Wired) -> None:
    account_id = new_id()
    with pytest.raises(service.AccountNotFound):
        await service.set_shelf_life(db, account_id, 180)

    await deliver(db, wired, account_created(account_id))

    assert await service.set_shelf_life(db, account_id, 180) == {
        "account_id": account_id,
        "days": 180,
    }


async def test_the_workers_give_back_cart_and_order_holds_that_ran_out(
    db: Database, wired: Wired, order_id: str, cart: str
) -> None:
    product_id = await stocked(db, wired, 10)
    lapsed = replace(policy(Settings()), soft_ttl=timedelta(seconds=-1))
    await db.transaction(lambda tx: service.soft_reserve(tx, cart, product_id, 3, lapsed))
    await provisional.hold(db, order_id, [(product_id, 4)], ttl=timedelta(0))

    workers = [asyncio.create_task(work(db, 0.01)) for work in wired.workers]
    try:

        async def given_back() -> list[str]:
            told = [m.data["reason"] for m in await emitted(db, cart) + await emitted(db, order_id)]
            return told if len(told) == 2 else []

        assert sorted(await eventually(given_back)) == ["expired", "hold_expired"]
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    assert await figure(db, product_id, "hard_reserved") == 0
    assert await figure(db, product_id, "atp") == 10
