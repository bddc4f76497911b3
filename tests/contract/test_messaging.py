"""Outbox → transport → inbox, with retries and dead letters, on both runtime modes."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from orderly.messaging import Envelope, emit
from orderly.messaging.consumer import Consumer, RetryPolicy, RetryWorker
from orderly.messaging.deadletters import AlreadyReplayed, list_dead_letters, replay_dead_letter
from orderly.messaging.relay import Relay, outbox_status
from orderly.messaging.routing import Subscription, Topology
from orderly.messaging.transports import Transport, open_transport
from orderly.messaging.transports.rabbitmq import delete_topology
from orderly.messaging.upkeep import Pruned, prune
from orderly.storage import Database, Tx, open_database, sql
from orderly.storage.migrations import migrate
from tests.conftest import Backend
from tests.messages import Pinged, told
from tests.waiting import eventually

PINGED = Pinged.TYPE
CONSUMER = "fulfillment.test_record_ping"
CREATE_EFFECTS = sql(
    "CREATE TABLE IF NOT EXISTS test_effects (message_id VARCHAR(64) NOT NULL, n INTEGER NOT NULL)"
)
INSERT_EFFECT = sql("INSERT INTO test_effects (message_id, n) VALUES (:message_id, :n)")
EFFECTS = sql("SELECT message_id, n FROM test_effects")


@dataclass
class Harness:
    producer: Database
    consumer_db: Database
    transport: Transport
    topology: Topology
    failing: set[int] = field(default_factory=set)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    relay: Relay | None = None

    async def record(self, tx: Tx, message: Envelope) -> None:
        n = int(message.data["n"])
        if n in self.failing:
            raise RuntimeError(f"handler refuses {n}")
        await tx.execute(INSERT_EFFECT, {"message_id": message.id, "n": n})

    def start_relay(self) -> None:
        self.relay = Relay(self.producer, self.transport, batch_size=100, poll_interval=0.1)
        self.tasks.append(asyncio.create_task(self.relay.run()))

    async def ping(self, n: int, aggregate: str = "") -> Envelope:
        message = told(Pinged(n=n), aggregate or f"a{n}")

        async def work(tx: Tx) -> None:
            await emit(tx, message)

        await self.producer.transaction(work)
        return message

    async def effects(self) -> list[tuple[str, int]]:
        rows = await self.consumer_db.read(lambda tx: tx.fetch_all(EFFECTS))
        return [(row["message_id"], row["n"]) for row in rows]


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    for context in ("catalog", "fulfillment"):
        await migrate(backend.database_url, context)
    producer = await open_database(backend.database_url, "catalog")
    consumer_db = await open_database(backend.database_url, "fulfillment")
    await consumer_db.transaction(lambda tx: tx.execute(CREATE_EFFECTS))
    transport = await open_transport(backend.broker_url, backend.namespace)
    h = Harness(producer, consumer_db, transport, Topology({PINGED: "catalog"}, []))
    subscription = Subscription(CONSUMER, "fulfillment", (PINGED,), h.record)
    h.topology = Topology({PINGED: "catalog"}, [subscription])
    consumer = Consumer(subscription, consumer_db, RetryPolicy(max_attempts=3, base_delay=0.02))
    await transport.start(h.topology, [(subscription, consumer.deliver)])
    h.tasks.append(asyncio.create_task(RetryWorker(consumer_db, {CONSUMER: consumer}, 0.1).run()))
    try:
        yield h
    finally:
        for task in h.tasks:
            task.cancel()
        await asyncio.gather(*h.tasks, return_exceptions=True)
        await transport.close()
        if backend.broker_url:
            await delete_topology(backend.broker_url, backend.namespace, h.topology)
        await producer.close()
        await consumer_db.close()


async def test_every_committed_message_is_delivered_once(harness: Harness) -> None:
    harness.start_relay()
    sent = await asyncio.gather(*(harness.ping(n) for n in range(300)))

    async def all_handled() -> list[tuple[str, int]] | None:
        effects = await harness.effects()
        return effects if len(effects) >= 300 else None

    effects = await eventually(all_handled)
    assert sorted(effects, key=lambda e: e[1]) == [(m.id, n) for n, m in enumerate(sent)]
    status = await eventually(
        lambda: _when(outbox_status(harness.producer), lambda s: s["pending"] == 0)
    )
    assert status["published"] == 300


async def test_the_same_message_delivered_twice_has_one_effect(harness: Harness) -> None:
    message = told(Pinged(n=7), "order-1")
    marker = told(Pinged(n=8), "order-1")
    # when the transport delivers one message twice (as at-least-once delivery may)
    await harness.transport.publish("catalog", [message])
    await harness.transport.publish("catalog", [message])
    await harness.transport.publish("catalog", [marker])
    # then, once the marker behind them in the same aggregate is handled, there is one effect
    effects = await eventually(
        lambda: _when(harness.effects(), lambda e: any(n == 8 for _, n in e))
    )
    assert sorted(effects, key=lambda e: e[1]) == [(message.id, 7), (marker.id, 8)]


async def test_a_batch_repeating_a_message_or_holding_a_handled_one_has_one_effect_each(
    harness: Harness,
) -> None:
    seen = told(Pinged(n=1), "order-2")
    await harness.transport.publish("catalog", [seen])
    await eventually(lambda: _when(harness.effects(), lambda e: any(n == 1 for _, n in e)))
    again, last = told(Pinged(n=2), "order-2"), told(Pinged(n=3), "order-2")
    # one publish: the consumer takes its deliveries as one batch, its inbox rows claimed at once
    await harness.transport.publish("catalog", [again, seen, again, last])
    effects = await eventually(
        lambda: _when(harness.effects(), lambda e: any(n == 3 for _, n in e))
    )
    assert sorted(n for _, n in effects) == [1, 2, 3]


async def test_a_message_committed_before_the_relay_died_goes_out_after_restart(
    harness: Harness,
) -> None:
    # given messages committed while no relay runs (it crashed between commit and publish)
    sent = [await harness.ping(n) for n in range(3)]
    assert (await outbox_status(harness.producer))["pending"] == 3
    assert await harness.effects() == []
    # when a relay starts again
    harness.start_relay()
    # then each is delivered, once
    effects = await eventually(lambda: _when(harness.effects(), lambda e: len(e) >= 3))
    assert sorted(effects, key=lambda e: e[1]) == [(m.id, n) for n, m in enumerate(sent)]


async def test_a_message_that_always_fails_is_dead_lettered_then_replayed_once(
    harness: Harness,
) -> None:
    harness.start_relay()
    harness.failing.add(13)
    poison = await harness.ping(13)
    healthy = await harness.ping(14)
    # then the healthy message is not held up, and the poison lands in dead letters after 3 tries
    letters = await eventually(lambda: _when(list_dead_letters(harness.consumer_db), bool))
    assert [
        (letter["message_id"], letter["attempts"], letter["consumer"]) for letter in letters
    ] == [(poison.id, 3, CONSUMER)]
    assert "handler refuses 13" in letters[0]["error"]
    assert await harness.effects() == [(healthy.id, 14)]
    # when the handler is fixed and the dead letter replayed
    harness.failing.clear()
    await replay_dead_letter(harness.consumer_db, letters[0]["id"])
    effects = await eventually(lambda: _when(harness.effects(), lambda e: len(e) >= 2))
    assert sorted(effects, key=lambda e: e[1]) == [(poison.id, 13), (healthy.id, 14)]
    # and a second replay is refused rather than applied twice
    with pytest.raises(AlreadyReplayed):
        await replay_dead_letter(harness.consumer_db, letters[0]["id"])


async def _when(value: Any, predicate: Any) -> Any:
    result = await value
    return result if predicate(result) else None


async def test_a_failing_message_does_not_take_its_batch_down(harness: Harness) -> None:
    # given one poisoned message among healthy ones, handed over together
    harness.failing.add(50)
    batch = [told(Pinged(n=n), f"b{n}") for n in range(48, 53)]
    await harness.transport.publish("catalog", batch)
    # then every healthy message takes effect, and only the poisoned one is dead-lettered
    effects = await eventually(lambda: _when(harness.effects(), lambda e: len(e) >= 4))
    assert sorted(n for _, n in effects) == [48, 49, 51, 52]
    letters = await eventually(lambda: _when(list_dead_letters(harness.consumer_db), bool))
    assert [letter["message_id"] for letter in letters] == [batch[2].id]


INBOX_ROWS = sql("SELECT COUNT(*) AS n FROM inbox")


async def test_a_message_of_no_concern_to_a_consumer_is_acknowledged_without_a_trace(
    harness: Harness,
) -> None:
    # given a consumer that says, from the message alone, which ones it acts on (even ones)
    even = Subscription(
        "fulfillment.test_even",
        "fulfillment",
        (PINGED,),
        harness.record,
        concerns=lambda message: int(message.data["n"]) % 2 == 0,
    )
    consumer = Consumer(even, harness.consumer_db, RetryPolicy())
    odd, pair = told(Pinged(n=1), "c1"), told(Pinged(n=2), "c2")
    # when both are delivered, the odd one first
    await consumer.deliver(odd)
    # then the odd one is done at once: no effect, no inbox row, nothing to retry
    assert await harness.effects() == []
    rows = await harness.consumer_db.read(lambda tx: tx.fetch_one(INBOX_ROWS))
    assert rows is not None
    assert rows["n"] == 0
    # and the even one is handled as ever, once
    await consumer.deliver(pair)
    await consumer.deliver(pair)
    assert await harness.effects() == [(pair.id, 2)]
    rows = await harness.consumer_db.read(lambda tx: tx.fetch_one(INBOX_ROWS))
    assert rows is not None
    assert rows["n"] == 1


async def test_pruning_removes_old_published_and_processed_rows_and_keeps_pending_ones(
    harness: Harness,
) -> None:
    # given five messages published and handled, then two committed while no relay runs
    harness.start_relay()
    await asyncio.gather(*(harness.ping(n) for n in range(5)))
    await eventually(lambda: _when(harness.effects(), lambda e: len(e) == 5))
    await eventually(lambda: _when(outbox_status(harness.producer), lambda s: s["pending"] == 0))
    relay_task = harness.tasks.pop()
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    await asyncio.gather(*(harness.ping(n) for n in range(5, 7)))

    async def inbox_rows() -> int:
        row = await harness.consumer_db.read(lambda tx: tx.fetch_one(INBOX_ROWS))
        assert row is not None
        return int(row["n"])

    # rows younger than the retention stay
    assert await prune(harness.producer, timedelta(hours=1)) == Pruned(0, 0)
    assert await prune(harness.consumer_db, timedelta(hours=1)) == Pruned(0, 0)
    assert await inbox_rows() == 5
    # past the retention, published rows and inbox rows go, in batches; pending rows stay
    assert await prune(harness.producer, timedelta(0), batch=2) == Pruned(outbox=5, inbox=0)
    assert await prune(harness.consumer_db, timedelta(0), batch=2) == Pruned(outbox=0, inbox=5)
    status = await outbox_status(harness.producer)
    assert (status["pending"], status["published"]) == (2, 0)
    assert await inbox_rows() == 0
    # and the pending ones still go out once a relay runs
    harness.start_relay()
    await eventually(lambda: _when(harness.effects(), lambda e: len(e) == 7))


async def test_a_message_queued_after_pruning_everything_published_still_goes_out(
    harness: Harness,
) -> None:
    """An idle spell longer than the retention: every row is published and old. Had pruning
    emptied the outbox, SQLite would number the next row from 1 again, below every id the
    running relay has published."""
    harness.start_relay()
    await asyncio.gather(*(harness.ping(n) for n in range(3)))
    await eventually(lambda: _when(harness.effects(), lambda e: len(e) == 3))
    await eventually(lambda: _when(outbox_status(harness.producer), lambda s: s["pending"] == 0))
    assert await prune(harness.producer, timedelta(0)) == Pruned(outbox=2, inbox=0)
    assert (await outbox_status(harness.producer))["published"] == 1  # the newest stays

    await harness.ping(3)
    effects = await eventually(
        lambda: _when(harness.effects(), lambda e: any(n == 3 for _, n in e))
    )
    assert sorted(n for _, n in effects) == [0, 1, 2, 3]
