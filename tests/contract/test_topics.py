"""Seed 004's topics: which types each carries, held to the code's messages and to
docs/warehouse.md, and on RabbitMQ declared by every process alike and deleted with the
namespace."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue

from orderly.bootstrap import topology
from orderly.config import Settings
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope
from orderly.messaging.routing import Topology, matches
from orderly.messaging.transports.rabbitmq import (
    RabbitMqTransport,
    delete_topology,
    exchange_name,
)
from tests.conftest import needs_services
from tests.services import AMQP_URL, unique
from tests.waiting import eventually

WAREHOUSE_DOC = Path(__file__).parents[2] / "docs" / "warehouse.md"
TOPOLOGY = topology(Settings())


@pytest.mark.parametrize(
    ("pattern", "key", "matched"),
    [
        pytest.param("pick.completed", "pick.completed", True, id="exact"),
        pytest.param("pick.*", "pick.cancelled", True, id="star-one-word"),
        pytest.param("pick.*", "pick", False, id="star-not-zero-words"),
        pytest.param("fulfillment.*", "fulfillment.shipment.failed", False, id="star-not-two"),
        pytest.param("fulfillment.#", "fulfillment.shipment.failed", True, id="hash-two"),
        pytest.param("pick.#", "pick", True, id="hash-zero"),
        pytest.param("#", "order.created", True, id="hash-alone"),
        pytest.param("pack.*", "pick.completed", False, id="other-word"),
    ],
)
def test_a_key_matches_as_rabbitmq_routes(pattern: str, key: str, matched: bool) -> None:
    assert matches(pattern, key) is matched


def test_seed_004_has_its_six_topics() -> None:
    assert set(TOPOLOGY.topics) == {
        f"wms.{name}.events"
        for name in ("orders", "waves", "picking", "packing", "shipping", "inventory")
    }


def test_a_topic_carries_types_its_contexts_publish_and_no_other_topic_does() -> None:
    seen: dict[str, str] = {}
    for topic, sources in TOPOLOGY.topics.items():
        carried = TOPOLOGY.carried_by(topic)
        publishers = {c for t in carried for c in TOPOLOGY.publishers_of(t)}
        assert publishers <= set(sources), topic
        for message_type in carried:
            assert message_type not in seen, f"{message_type} on {topic} and {seen[message_type]}"
            seen[message_type] = topic


def test_no_command_is_on_a_topic() -> None:
    # a command is a type some consumer takes from its sender alone, named as an imperative
    commands = {"fulfillment.ship", "fulfillment.shipment.cancel", "order.checkout_retry"}
    carried = {t for topic in TOPOLOGY.topics for t in TOPOLOGY.carried_by(topic)}
    assert carried.isdisjoint(commands)
    assert not {t for t in carried if t.startswith("fulfillment.picks.")}


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param({"fulfillment": ("pick.done",)}, id="a-type-nobody-publishes"),
        pytest.param({"fulfillment": ("parcel.*",)}, id="a-pattern-matching-nothing"),
        pytest.param({"ordering": ("pick.completed",)}, id="another-context's-type"),
    ],
)
def test_a_key_that_matches_nothing_its_context_publishes_is_refused(
    sources: dict[str, tuple[str, ...]],
) -> None:
    with pytest.raises(LookupError, match=r"wms\.picking\.events"):
        Topology(TOPOLOGY.publishers, [], {"wms.picking.events": sources})


def _documented() -> dict[str, set[str]]:
    """docs/warehouse.md's table of topics: each topic and the types its last column names."""
    table: dict[str, set[str]] = {}
    for line in WAREHOUSE_DOC.read_text().splitlines():
        found = re.match(r"\| `(wms\.[a-z]+\.events)` \|.*\|(.*)\|$", line)
        if found:
            table[found[1]] = set(re.findall(r"`([a-z_.]+)`", found[2]))
    return table


def test_the_warehouse_doc_says_what_each_topic_carries() -> None:
    assert _documented() == {topic: TOPOLOGY.carried_by(topic) for topic in TOPOLOGY.topics}


# On RabbitMQ


def _one_of_each(message_type: str) -> Envelope:
    return Envelope(id=unique("m"), type=message_type, source="test", occurred_at=utcnow(), data={})


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    made = unique("t")
    try:
        yield made
    finally:
        await delete_topology(AMQP_URL, made, TOPOLOGY)


async def _listening(channel: AbstractChannel, namespace: str, topic: str) -> AbstractQueue:
    """A queue of the test's own, as an external consumer would bind it: every type."""
    exchange = await channel.get_exchange(exchange_name(namespace, topic))
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="#")
    return queue


async def _drain(queue: AbstractQueue, into: list[str]) -> None:
    while (incoming := await queue.get(no_ack=True, fail=False)) is not None:
        into.append(str(incoming.type))


@pytest.mark.distributed
@needs_services
async def test_every_process_declares_the_topics_alike_and_each_gets_each_type_once(
    namespace: str,
) -> None:
    # given two processes that both declared the whole topology, topics included
    first = await RabbitMqTransport.connect(AMQP_URL, namespace)
    second = await RabbitMqTransport.connect(AMQP_URL, namespace)
    reader = await aio_pika.connect(AMQP_URL)
    try:
        await first.start(TOPOLOGY, [])
        await second.start(TOPOLOGY, [])
        channel = await reader.channel()
        queues = {t: await _listening(channel, namespace, t) for t in TOPOLOGY.topics}

        # when every published type goes out once, from each of its publishers
        for message_type in sorted(TOPOLOGY.publishers):
            for context in TOPOLOGY.publishers_of(message_type):
                await first.publish(context, [_one_of_each(message_type)])

        # then each topic's queue got exactly the types of its topic, each once
        for topic, queue in queues.items():
            expected = sorted(TOPOLOGY.carried_by(topic))
            received: list[str] = []

            async def complete(
                queue: AbstractQueue = queue, received: list[str] = received, n: int = len(expected)
            ) -> bool:
                await _drain(queue, received)
                return len(received) >= n

            await eventually(complete)
            await _drain(queue, received)
            assert sorted(received) == expected, topic
    finally:
        await reader.close()
        await first.close()
        await second.close()


@pytest.mark.distributed
@needs_services
async def test_deleting_the_namespace_deletes_its_topics() -> None:
    namespace = unique("t")
    transport = await RabbitMqTransport.connect(AMQP_URL, namespace)
    reader = await aio_pika.connect(AMQP_URL)
    try:
        await transport.start(TOPOLOGY, [])
        await transport.close()
        channel = await reader.channel()
        for topic in TOPOLOGY.topics:
            await channel.get_exchange(exchange_name(namespace, topic))  # passive: it is there

        await delete_topology(AMQP_URL, namespace, TOPOLOGY)

        for topic in TOPOLOGY.topics:
            channel = await reader.channel()  # a missing exchange closes the channel
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                await channel.get_exchange(exchange_name(namespace, topic))
    finally:
        await reader.close()
        await delete_topology(AMQP_URL, namespace, TOPOLOGY)
