"""Ordering's handlers through its consumers, without a server: an order placed with fake
ports on a migrated SQLite database, then moved on by the messages other contexts send.

The tests share one database (each has orders of its own): opening and closing one costs
more than all of them together."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from orderly.catalog.messages import ProductCreated
from orderly.config import load_settings
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ShortLine,
)
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, Message, answering, new_message
from orderly.ordering import commands, placing, store
from orderly.ordering.context import CONTEXT
from orderly.ordering.domain import Channel, Line, Order, OrderStatus
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated
from orderly.ordering.policy import policy
from orderly.payments.messages import PaymentCompleted, PaymentFailed
from orderly.storage import Database, open_database
from orderly.storage.migrations import migrate
from tests.bus import Bus
from tests.fakes.ordering import FakeAvailability, FakePrices

# A guarded checkout answers at once (202) and its saga goes on through the bus.
SETTINGS = load_settings({}, checkout_wait=0.0)
CUSTOMER = Principal("u-1", "s-1", ("customer",))
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ordering')}"
    await migrate(url, "ordering")
    opened = await open_database(url, "ordering")
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus(db: Database) -> Bus:
    bus = Bus(CONTEXT, db, SETTINGS)
    # given: ordering has heard of the product
    product = ProductCreated(
        product_id="p-1",
        name="Aspirin 81 mg",
        sku="ASP-81",
        price=Decimal("12.50"),
        ndc=None,
        ndc11=None,
        dea_schedule=None,
        initial_stock=10,
    )
    await bus.deliver(new_message(product, source="product-service", aggregate_id="p-1"))
    return bus


async def place(db: Database, channel: Channel, quantity: int = 2) -> commands.Placed:
    cmd = commands.PlaceOrder(
        lines=[Line("p-1", quantity)],
        shipping_address=ADDRESS,
        owner=CUSTOMER,
        channel=channel,
        payment_method="tok_visa",
    )
    stock = FakeAvailability({"p-1": 10})
    return await placing.place_order(
        db, stock, cmd, policy(SETTINGS), prices=FakePrices({"p-1": 1250})
    )


async def order_of(db: Database, order_id: str) -> Order:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_ORDER, {"id": order_id}))
    assert row is not None
    return Order.of(row)


async def reserved_b2c_order(db: Database, bus: Bus) -> str:
    """A B2C order whose stock inventory has reserved: confirmed, waiting for its payment."""
    order_id = str((await place(db, Channel.B2C)).response["order_id"])
    await bus.deliver(told(reserved(order_id), "inventory-service", order_id))
    return order_id


async def charge_of_guarded_order(bus: Bus, order_id: str) -> Envelope:
    """Inventory answers the guarded order's saga (reserved); the saga's next command."""
    [reserve] = await bus.published(order_id, "inventory.reserve")
    assert reserve.saga_id == order_id
    await answer(bus, reserve, reserved(order_id), "inventory-service")
    [charge] = await bus.published(order_id, "payment.charge")
    return charge


async def answer(bus: Bus, command: Envelope, body: Message, source: str) -> None:
    """Another context answers a saga's command (the answer names the saga)."""
    await bus.deliver(answering(command, body, source=source, aggregate_id=command.aggregate_id))


def told(body: Message, source: str, order_id: str) -> Envelope:
    return new_message(body, source=source, aggregate_id=order_id)


def reserved(order_id: str) -> InventoryReserved:
    return InventoryReserved(order_id=order_id, items=[])


def payment_completed(order_id: str) -> PaymentCompleted:
    return PaymentCompleted(
        payment_id="pay-1", order_id=order_id, amount=Decimal("25.00"), currency="USD"
    )


def payment_failed(order_id: str) -> PaymentFailed:
    return PaymentFailed(
        payment_id="pay-1",
        order_id=order_id,
        amount=Decimal("25.00"),
        currency="USD",
        reason="card_declined",
    )


async def test_a_b2c_order_is_confirmed_once_inventory_reserves_it(db: Database, bus: Bus) -> None:
    order_id = (await place(db, Channel.B2C)).response["order_id"]
    assert (await order_of(db, order_id)).status is OrderStatus.PENDING
    [created] = await bus.published(order_id, OrderCreated.TYPE)
    assert created.read(OrderCreated).total_amount == Decimal("25.00")

    assert await bus.deliver(told(reserved(order_id), "inventory-service", order_id)) == 1

    assert (await order_of(db, order_id)).status is OrderStatus.CONFIRMED
    [confirmed] = await bus.published(order_id, OrderConfirmed.TYPE)
    body = confirmed.read(OrderConfirmed)
    assert (body.order_id, body.user_id) == (order_id, "u-1")
    assert (body.total_amount, body.payment_method) == (Decimal("25.00"), "tok_visa")


async def test_a_message_delivered_twice_moves_the_order_once(db: Database, bus: Bus) -> None:
    order_id = (await place(db, Channel.B2C)).response["order_id"]
    message = told(reserved(order_id), "inventory-service", order_id)

    await bus.deliver(message)
    assert await bus.deliver(message) == 0

    assert len(await bus.published(order_id, OrderConfirmed.TYPE)) == 1


async def test_a_paid_b2c_order_is_processing(db: Database, bus: Bus) -> None:
    order_id = await reserved_b2c_order(db, bus)

    await bus.deliver(told(payment_completed(order_id), "payments-service", order_id))

    order = await order_of(db, order_id)
    assert (order.status, order.word) == (OrderStatus.PROCESSING, "processing")


async def test_a_failed_payment_cancels_a_b2c_order_and_gives_its_stock_back(
    db: Database, bus: Bus
) -> None:
    order_id = await reserved_b2c_order(db, bus)

    await bus.deliver(told(payment_failed(order_id), "payments-service", order_id))

    assert (await order_of(db, order_id)).status is OrderStatus.CANCELLED
    [cancelled] = await bus.published(order_id, OrderCancelled.TYPE)
    body = cancelled.read(OrderCancelled)
    assert (body.order_id, body.reason) == (order_id, "payment_failed")
    assert [(i.product_id, i.quantity) for i in body.items] == [("p-1", 2)]


async def test_a_b2c_order_short_of_stock_is_cancelled(db: Database, bus: Bus) -> None:
    order_id = (await place(db, Channel.B2C)).response["order_id"]
    short = InventoryInsufficient(
        order_id=order_id, items=[ShortLine(product_id="p-1", requested=2, available=1)]
    )

    await bus.deliver(told(short, "inventory-service", order_id))

    assert (await order_of(db, order_id)).status is OrderStatus.CANCELLED
    [cancelled] = await bus.published(order_id, OrderCancelled.TYPE)
    assert cancelled.read(OrderCancelled).reason == "insufficient_inventory"


async def test_a_payment_for_an_order_cancelled_meanwhile_is_refused(
    db: Database, bus: Bus
) -> None:
    order_id = (await place(db, Channel.B2C)).response["order_id"]
    await bus.deliver(told(payment_failed(order_id), "payments-service", order_id))

    await bus.deliver(told(payment_completed(order_id), "payments-service", order_id))

    assert (await order_of(db, order_id)).status is OrderStatus.CANCELLED


async def test_delivery_reports_move_a_direct_order_forward(db: Database, bus: Bus) -> None:
    placed = await place(db, Channel.DIRECT)
    order_id = placed.response["order_id"]
    assert placed.response["status"] == "PENDING_SHIPMENT"
    shipped = OrderStatusUpdated(
        order_id=order_id, previous_status="PENDING_SHIPMENT", current_status="SHIPPED"
    )

    await bus.deliver(told(shipped, "delivery-service", order_id))

    assert (await order_of(db, order_id)).word == "SHIPPED"


async def test_a_guarded_checkout_is_placed_as_its_saga_is_answered(db: Database, bus: Bus) -> None:
    placed = await place(db, Channel.GUARDED)
    order_id = placed.response["order_id"]
    assert placed.accepted_only  # its outcome is not known yet: 202
    charge = await charge_of_guarded_order(bus, order_id)

    await answer(bus, charge, payment_completed(order_id), "payments-service")

    assert (await order_of(db, order_id)).word == "PLACED"


async def test_a_guarded_checkout_whose_payment_fails_gives_its_stock_back(
    db: Database, bus: Bus
) -> None:
    order_id = (await place(db, Channel.GUARDED)).response["order_id"]
    charge = await charge_of_guarded_order(bus, order_id)

    await answer(bus, charge, payment_failed(order_id), "payments-service")

    # the saga compensates: the reservation is released, and then the order has failed
    [release] = await bus.published(order_id, "inventory.release")
    assert (await order_of(db, order_id)).status is OrderStatus.PENDING
    released = InventoryReleased(reference=order_id, reason="compensation", items=[])
    await answer(bus, release, released, "inventory-service")
    assert (await order_of(db, order_id)).word == "PAYMENT_FAILED"
    [cancelled] = await bus.published(order_id, OrderCancelled.TYPE)
    assert cancelled.read(OrderCancelled).reason == "payment_failed"
