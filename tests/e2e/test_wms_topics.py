"""Seed 004's topics on RabbitMQ, read as an outside consumer would: a queue of the test's own
bound to each `<namespace>.wms.*.events` exchange while shop orders go through the floor over
HTTP. Each topic hears its own events of the order and no other topic's. (Embedded, there is
no broker and so no topic to bind to.)"""

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage

from orderly.bootstrap import topology
from orderly.config import Settings
from orderly.messaging.transports.rabbitmq import exchange_name
from tests.conftest import needs_services
from tests.e2e.conftest import Deployment, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.test_warehouse import shipped, tasks_of, wave_of
from tests.services import AMQP_URL, unique
from tests.waiting import eventually

pytestmark = [needs_services, pytest.mark.distributed]

TOPOLOGY = topology(Settings())


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with shared_deployment("distributed", tmp_path_factory.mktemp("topics")) as running:
        yield running


@dataclass
class Tap:
    """What each topic's queue received: each message's type and body."""

    heard: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    def types(self, topic: str, order_id: str) -> Counter[str]:
        """The types of `order_id`'s messages that `topic` carried."""
        return Counter(t for t, body in self.heard.get(topic, []) if order_id.encode() in body)


@asynccontextmanager
async def tapped(namespace: str) -> AsyncIterator[Tap]:
    """A queue bound with `#` to every topic's exchange, as analytics would bind one."""
    tap = Tap()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for topic in TOPOLOGY.topics:
            # passive: the deployment's processes declared it
            exchange = await channel.get_exchange(exchange_name(namespace, topic))
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, routing_key="#")

            async def heard(incoming: AbstractIncomingMessage, topic: str = topic) -> None:
                tap.heard.setdefault(topic, []).append((str(incoming.type), incoming.body))

            await queue.consume(heard, no_ack=True)
        yield tap
    finally:
        await connection.close()


async def shop_order(deployed: Deployment, quantity: int) -> tuple[str, httpx.AsyncClient]:
    """A paid shop order (b2c, counted on the floor), and its customer."""
    product_id = await create_product(deployed, unique("TOPIC"), 5)
    customer = deployed.ordering.client(deployed.customer()["token"])
    body = {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }

    async def placed() -> str | None:
        answer = await customer.post("/api/v1/orders", json=body)
        return str(answer.json()["order_id"]) if answer.status_code in (201, 202) else None

    return await eventually(placed), customer


async def picked(ops: httpx.AsyncClient, order_id: str, quantity: int) -> None:
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    [task] = await tasks_of(ops, order_id)
    counted = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": quantity})
    assert (counted.status_code, counted.json()["status"]) == (200, "PICKED"), counted.text


async def packable(ops: httpx.AsyncClient, order_id: str) -> bool:
    waiting = (await ops.get("/api/v1/pack-tasks")).json()
    return any(pack["order_id"] == order_id for pack in waiting)


def heard_all(
    tap: Tap, order_id: str, expected: dict[str, Counter[str]]
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(tap.types(topic, order_id) >= wanted for topic, wanted in expected.items())

    return check


def only_its_own(tap: Tap) -> None:
    """No topic carried a type of another (the order's or any other message)."""
    for topic, messages in tap.heard.items():
        assert {t for t, _ in messages} <= TOPOLOGY.carried_by(topic), topic


async def test_each_topic_hears_its_own_events_of_an_order_through_the_floor(
    deployed: Deployment,
) -> None:
    ops = deployed.fulfillment.client(deployed.operator_token)
    async with tapped(deployed.backend.namespace) as tap:
        # given a paid shop order, waved, picked, packed, shipped and delivered
        order_id, _ = await shop_order(deployed, 2)
        await picked(ops, order_id, 2)
        await eventually(lambda: packable(ops, order_id))
        assert (await ops.post(f"/api/v1/pack-tasks/{order_id}/complete")).status_code == 200
        shipment = await shipped(ops, order_id)
        delivered = await ops.post(
            f"/api/v1/shipments/{shipment['id']}/deliver", json={"delivery_location": "Porch"}
        )
        assert delivered.status_code == 200, delivered.text

        # then each topic's queue got the order's events of its topic, once each
        expected = {
            "wms.orders.events": Counter(
                {"order.created": 1, "order.confirmed": 1, "order.status_updated": 2}
            ),
            "wms.waves.events": Counter({"wave.released": 1}),
            "wms.picking.events": Counter({"pick.completed": 1}),
            "wms.packing.events": Counter({"pack.completed": 1}),
            "wms.shipping.events": Counter({"fulfillment.shipped": 1, "fulfillment.delivered": 1}),
            "wms.inventory.events": Counter({"inventory.reserved": 1}),
        }

        await eventually(heard_all(tap, order_id, expected), within=30)
        assert {topic: tap.types(topic, order_id) for topic in TOPOLOGY.topics} == expected
        only_its_own(tap)


async def test_an_order_undone_on_the_floor_is_told_on_its_topics(deployed: Deployment) -> None:
    ops = deployed.fulfillment.client(deployed.operator_token)
    async with tapped(deployed.backend.namespace) as tap:
        # given a paid shop order picked and waiting to be packed
        order_id, customer = await shop_order(deployed, 3)
        await picked(ops, order_id, 3)
        await eventually(lambda: packable(ops, order_id))

        # when it is cancelled
        cancelled = await customer.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then picking, packing and inventory say what was undone, each on its own topic; the
        # shipment never went to the carrier, so shipping has nothing to say
        expected = {
            "wms.orders.events": Counter(
                {"order.created": 1, "order.confirmed": 1, "order.cancelled": 1}
            ),
            "wms.waves.events": Counter({"wave.released": 1}),
            "wms.picking.events": Counter({"pick.completed": 1, "pick.cancelled": 1}),
            "wms.packing.events": Counter({"pack.cancelled": 1}),
            "wms.shipping.events": Counter(),
            "wms.inventory.events": Counter({"inventory.reserved": 1, "inventory.released": 1}),
        }
        await eventually(heard_all(tap, order_id, expected), within=30)
        assert {topic: tap.types(topic, order_id) for topic in TOPOLOGY.topics} == expected
        only_its_own(tap)
