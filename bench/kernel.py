"""Orderly's messaging kernel end to end: producers commit outbox rows, the relay publishes,
the consumer records each message in its inbox. Every step at full durability."""

import asyncio
import tempfile
import time
import uuid
from typing import Any

from orderly.messaging import Envelope, Message, emit, new_message
from orderly.messaging.consumer import Consumer, RetryPolicy
from orderly.messaging.relay import Relay
from orderly.messaging.routing import Subscription, Topology
from orderly.messaging.transports import open_transport
from orderly.messaging.transports.rabbitmq import delete_topology
from orderly.storage import Tx, open_database
from orderly.storage.migrations import migrate
from tests.services import create_pg_database, drop_pg_database

PRODUCERS = 64


class Pinged(Message):
    TYPE = "bench.pinged"

    n: int


async def _noop(tx: Tx, message: Envelope) -> None:
    return None


async def throughput(dialect: str, broker_url: str, n: int) -> float:
    """Messages/s from the first producer commit to the last inbox commit."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return await _run(f"sqlite:///{tmp}", broker_url, n)
    url = await create_pg_database()
    try:
        return await _run(url, broker_url, n)
    finally:
        await drop_pg_database(url)


async def _run(url: str, broker_url: str, n: int) -> float:
    for context in ("catalog", "fulfillment"):
        await migrate(url, context)
    producer = await open_database(url, "catalog")
    consumer_db = await open_database(url, "fulfillment")
    namespace = f"bench_{uuid.uuid4().hex[:8]}"
    transport = await open_transport(broker_url, namespace)
    subscription = Subscription("fulfillment.bench_noop", "fulfillment", ("bench.pinged",), _noop)
    topology = Topology({"bench.pinged": "catalog"}, [subscription])
    consumer = Consumer(subscription, consumer_db, RetryPolicy())
    done = asyncio.Event()
    handled = 0

    async def deliver(message: Envelope) -> None:
        nonlocal handled
        await consumer.deliver(message)
        handled += 1
        if handled >= n:
            done.set()

    await transport.start(topology, [(subscription, deliver)])
    relay = Relay(producer, transport, batch_size=500, poll_interval=0.5)
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(relay.run())]

    async def produce(producer_no: int, count: int) -> None:
        for i in range(count):
            aggregate = f"p{producer_no}-{i}"  # one aggregate per message, as orders are
            message = new_message(Pinged(n=i), source="bench", aggregate_id=aggregate)

            async def work(tx: Tx, message: Envelope = message) -> None:
                await emit(tx, message)

            await producer.transaction(work)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(produce(p, n // PRODUCERS) for p in range(PRODUCERS)))
        n_sent = (n // PRODUCERS) * PRODUCERS
        if handled < n_sent:
            n = n_sent
            await asyncio.wait_for(done.wait(), timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await relay.settle()
        await transport.close()
        if broker_url:
            await delete_topology(broker_url, namespace, topology)
        await producer.close()
        await consumer_db.close()
    return n / elapsed
