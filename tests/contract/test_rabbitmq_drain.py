"""A context served by several processes on RabbitMQ: one stopping finishes the deliveries it
began (its consumers cancelled, those begun handled and acknowledged, none left for the
broker to deliver again), and a consumer's messages are handled one at a time by one replica,
in the order they were published, the other taking over when it goes."""

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import aio_pika

from orderly.messaging.envelope import Envelope
from orderly.messaging.routing import Subscription, Topology
from orderly.messaging.transports.rabbitmq import RabbitMqTransport, delete_topology, queue_name
from orderly.storage import Tx
from tests.conftest import needs_services
from tests.messages import Pinged, told
from tests.services import AMQP_URL, unique
from tests.waiting import eventually

pytestmark = needs_services
CONSUMER = "fulfillment.test_slow_ping"


async def waiting_in_queue(namespace: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name(namespace, CONSUMER), passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def test_a_drained_stop_handles_and_acknowledges_what_it_began() -> None:
    namespace = unique("drain")
    begun: list[str] = []
    handled: list[str] = []
    release = asyncio.Event()

    async def slow(message: Envelope) -> None:
        begun.append(message.id)
        await release.wait()
        handled.append(message.id)

    subscription = Subscription(CONSUMER, "fulfillment", (Pinged.TYPE,), unused)
    topology = Topology({Pinged.TYPE: "catalog"}, [subscription])
    transport = await RabbitMqTransport.connect(AMQP_URL, namespace)
    try:
        await transport.start(topology, [(subscription, slow)])
        sent = [told(Pinged(n=n), f"order-{n}") for n in range(20)]
        await transport.publish("catalog", sent)
        await eventually(lambda: _true(len(begun) == len(sent)))

        # the process stops while its deliveries are still being handled: its consumers are
        # cancelled at once; the deliveries begun finish (once let go) and are acknowledged
        # before the connection closes
        async def let_go() -> None:  # runs once the stop is under way (started first)
            release.set()

        await asyncio.gather(stop(transport), let_go())
        assert sorted(handled) == sorted(m.id for m in sent)
    finally:
        release.set()
        await transport.close()
    # nothing is left for the broker to deliver again
    assert await waiting_in_queue(namespace) == 0
    await delete_topology(AMQP_URL, namespace, topology)


async def stop(transport: RabbitMqTransport) -> None:
    """What a process does on SIGTERM (`Runtime.stop`): drain, then close."""
    await transport.drain(within=30)
    await transport.close()


async def unused(tx: Tx, message: Envelope) -> None:
    """The subscription's handler: the transport is handed `slow` to deliver to instead."""


async def _true(value: bool) -> bool:
    return value


async def test_with_two_replicas_each_orders_messages_are_handled_in_order() -> None:
    # two processes serve the same consumer; a burst of messages per order is published
    namespace = unique("replicas")
    seen: list[tuple[str, str, int]] = []  # (replica, order, n) as handled

    def replica(name: str) -> Callable[[Envelope], Awaitable[None]]:
        async def handle(message: Envelope) -> None:
            seen.append((name, message.aggregate_id, int(message.data["n"])))

        return handle

    subscription = Subscription(CONSUMER, "fulfillment", (Pinged.TYPE,), unused)
    topology = Topology({Pinged.TYPE: "catalog"}, [subscription])
    first = await RabbitMqTransport.connect(AMQP_URL, namespace)
    second = await RabbitMqTransport.connect(AMQP_URL, namespace)
    try:
        await first.start(topology, [(subscription, replica("first"))])
        await second.start(topology, [(subscription, replica("second"))])
        burst = [told(Pinged(n=n), f"order-{n % 3}") for n in range(300)]
        await first.publish("catalog", burst[:150])

        # then the active replica stops halfway, and the other takes over the rest
        await eventually(lambda: _true(len(seen) >= 150))
        await first.drain(within=10)
        await first.close()
        await second.publish("catalog", burst[150:])
        await eventually(lambda: _true(len(seen) >= 300), within=30)
    finally:
        await second.close()
        await delete_topology(AMQP_URL, namespace, topology)

    # each order's messages were handled once each, in the order they were published
    for order in ("order-0", "order-1", "order-2"):
        handled = [n for _, aggregate, n in seen if aggregate == order]
        assert handled == [n for n in range(300) if f"order-{n % 3}" == order]
    # by one replica at a time: the first until it stopped, then the other
    replicas = [name for name, _, _ in seen]
    assert replicas == ["first"] * 150 + ["second"] * 150


async def test_a_delivery_that_fails_is_handed_back_after_a_growing_pause_not_parked() -> None:
    """A consumer that cannot even record a retry (its database is down) gets the message
    again, each time after a longer pause; twenty tries in a second would have the broker
    park it in the dead-letter queue, where no operator of Orderly's sees it."""
    namespace = unique("requeue")
    seen: list[float] = []
    loop = asyncio.get_running_loop()

    async def down_then_up(message: Envelope) -> None:
        seen.append(loop.time())
        if len(seen) < 4:
            raise ConnectionError("the database is down")

    subscription = Subscription(CONSUMER, "fulfillment", (Pinged.TYPE,), unused)
    topology = Topology({Pinged.TYPE: "catalog"}, [subscription])
    transport = await RabbitMqTransport.connect(AMQP_URL, namespace)
    try:
        await transport.start(topology, [(subscription, down_then_up)])
        await transport.publish("catalog", [told(Pinged(n=1), "order-1")])
        await eventually(lambda: _true(len(seen) == 4), within=30)
        await transport.drain(within=10)  # the fourth delivery's acknowledgement is sent
    finally:
        await transport.close()
    pauses = [later - earlier for earlier, later in itertools.pairwise(seen)]
    assert pauses[0] >= 0.25
    assert pauses[1] >= 0.5
    assert pauses[2] >= 1.0
    assert await waiting_in_queue(namespace) == 0  # handled the fourth time, and acknowledged
    assert await parked(namespace) == 0
    await delete_topology(AMQP_URL, namespace, topology)


async def test_a_delivery_held_before_it_is_handed_back_is_not_settled_by_later_ones() -> None:
    """While a failed delivery waits to be handed back, the ones after it are handled and
    acknowledged; acknowledging them must not settle it (an `ack(multiple)` past it would),
    or it is lost: never handled, and gone from the queue."""
    namespace = unique("held")
    tries: dict[str, int] = {}
    handled: list[str] = []

    async def first_fails_once(message: Envelope) -> None:
        tries[message.id] = tries.get(message.id, 0) + 1
        if message.aggregate_id == "order-0" and tries[message.id] == 1:
            raise ConnectionError("the database is down")
        handled.append(message.aggregate_id)

    subscription = Subscription(CONSUMER, "fulfillment", (Pinged.TYPE,), unused)
    topology = Topology({Pinged.TYPE: "catalog"}, [subscription])
    transport = await RabbitMqTransport.connect(AMQP_URL, namespace)
    sent = [told(Pinged(n=n), f"order-{n}") for n in range(6)]
    try:
        await transport.start(topology, [(subscription, first_fails_once)])
        await transport.publish("catalog", sent)
        await eventually(lambda: _true(len(handled) == len(sent)), within=30)
        await transport.drain(within=10)
    finally:
        await transport.close()
    assert sorted(handled) == sorted(m.aggregate_id for m in sent)
    assert tries[sent[0].id] == 2
    assert await waiting_in_queue(namespace) == 0
    assert await parked(namespace) == 0
    await delete_topology(AMQP_URL, namespace, topology)


async def test_a_delivery_still_being_handled_is_not_settled_by_later_ones_done_at_once() -> None:
    """A consumer is done at once with a delivery of no concern to it, while an earlier one is
    still being handled; acknowledging the later one must leave the earlier open, so that a
    process that dies before finishing it has it delivered again."""
    namespace = unique("open")
    release = asyncio.Event()
    begun: list[str] = []
    at_once: list[str] = []

    async def first_slow(message: Envelope) -> None:
        if message.aggregate_id == "order-0":
            begun.append(message.id)
            await release.wait()  # still being handled when the process goes
        else:
            at_once.append(message.id)

    subscription = Subscription(CONSUMER, "fulfillment", (Pinged.TYPE,), unused)
    topology = Topology({Pinged.TYPE: "catalog"}, [subscription])
    transport = await RabbitMqTransport.connect(AMQP_URL, namespace)
    try:
        await transport.start(topology, [(subscription, first_slow)])
        await transport.publish("catalog", [told(Pinged(n=n), f"order-{n}") for n in range(3)])
        await eventually(lambda: _true(len(begun) == 1 and len(at_once) == 2))
        # the process goes: the later ones' acknowledgements are sent, the first is unfinished
        await transport.drain(within=0.5)
    finally:
        await transport.close()
        release.set()
    assert await waiting_in_queue(namespace) == 1  # the first, to be delivered again
    await delete_topology(AMQP_URL, namespace, topology)


async def parked(namespace: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{namespace}.dead-letter", passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()
