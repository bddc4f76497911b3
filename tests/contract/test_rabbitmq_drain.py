"""A process stopping on RabbitMQ finishes the deliveries it began: its consumers are
cancelled, those begun are handled and acknowledged, and none is left for the broker to
deliver again (the inbox would absorb a redelivery; a drained stop makes none)."""

import asyncio

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

        # stopping: no more deliveries; those begun finish (once let go) and are acknowledged
        draining = asyncio.create_task(transport.drain(within=30))
        await asyncio.sleep(0)
        assert not draining.done()  # it waits for the deliveries in flight
        release.set()
        await draining
        assert sorted(handled) == sorted(m.id for m in sent)
    finally:
        await transport.close()
    # nothing is left for the broker to deliver again
    assert await waiting_in_queue(namespace) == 0
    await delete_topology(AMQP_URL, namespace, topology)


async def unused(tx: Tx, message: Envelope) -> None:
    """The subscription's handler: the transport is handed `slow` to deliver to instead."""


async def _true(value: bool) -> bool:
    return value
