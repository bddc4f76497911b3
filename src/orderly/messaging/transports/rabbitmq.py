"""RabbitMQ through aio-pika.

One durable topic exchange per publishing context (`<ns>.<context>`), routing key = the
message type. One quorum queue per consumer (`<ns>.<consumer>`), bound to the types it takes,
with a delivery limit and a dead-letter exchange for messages no consumer can even decode.
A topic (`<ns>.wms.picking.events`) is a durable topic exchange bound to its contexts'
exchanges for its keys: the broker copies each message there, with no publish of its own.
Publishing waits for publisher confirms; consuming acks only after the consumer's
transaction committed. Every process declares the whole topology, so a message is never
published before the queues of consumers that are not running yet exist.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from orderly.kernel import faults
from orderly.messaging.envelope import Envelope, decode_body, encode_body
from orderly.messaging.routing import Delivery, Subscription, Topology

log = structlog.get_logger(__name__)

Properties = aiormq.spec.Basic.Properties
PERSISTENT = int(aio_pika.DeliveryMode.PERSISTENT)
PREFETCH = 256
# Deliveries of one message before the broker parks it in the namespace's dead-letter queue
# (a message that kills its consumer each time, say).
DELIVERY_LIMIT = 20
REQUEUE_PAUSE_MAX = 30.0
# A confirm that never comes (the connection dropped after the publish went out) must not
# stall the relay: past this, the batch counts as failed and goes out again.
PUBLISH_TIMEOUT = 10.0
# A broker that takes the TCP connection but never finishes the AMQP handshake (overloaded)
# fails the connect, and with it the process's start, rather than holding it without end.
CONNECT_TIMEOUT = 30.0


def queue_name(namespace: str, consumer: str) -> str:
    return f"{namespace}.{consumer}"


def exchange_name(namespace: str, context: str) -> str:
    return f"{namespace}.{context}"


class _Acks:
    """Acknowledges a consumer's handled deliveries together: the ones that finish in the
    same turn of the loop (a batch committed as one) cost one `ack(multiple)` frame, not one
    each.

    `ack(multiple)` settles every delivery up to the one it names, so it never names one past
    a delivery still open on its channel: one being handled, or one that failed and is held
    before it is handed back (`requeue_after`). Handled deliveries past an open one are
    acknowledged one by one."""

    def __init__(self) -> None:
        self._open: set[tuple[int, int]] = set()  # (channel, delivery tag) not yet settled
        self._done: list[AbstractIncomingMessage] = []
        self._sending: set[asyncio.Task[None]] = set()

    @staticmethod
    def _key(incoming: AbstractIncomingMessage) -> tuple[int, int]:
        return id(incoming.channel), incoming.delivery_tag or 0

    def received(self, incoming: AbstractIncomingMessage) -> None:
        self._open.add(self._key(incoming))

    def settled_elsewhere(self, incoming: AbstractIncomingMessage) -> None:
        """The delivery was handed back or rejected (its frame already sent)."""
        self._open.discard(self._key(incoming))

    def done(self, incoming: AbstractIncomingMessage) -> None:
        if not self._done:
            asyncio.get_running_loop().call_soon(self._flush)
        self._done.append(incoming)

    def _flush(self) -> None:
        done, self._done = self._done, []
        for incoming in done:
            self._open.discard(self._key(incoming))
        by_channel: dict[int, list[AbstractIncomingMessage]] = {}
        for incoming in done:
            by_channel.setdefault(id(incoming.channel), []).append(incoming)
        for channel, handled in by_channel.items():
            below = min((tag for ch, tag in self._open if ch == channel), default=None)
            together: list[AbstractIncomingMessage] = []
            alone: list[AbstractIncomingMessage] = []
            for incoming in handled:
                passes = below is not None and (incoming.delivery_tag or 0) > below
                (alone if passes else together).append(incoming)
            if together:
                newest = max(together, key=lambda m: m.delivery_tag or 0)
                self._send(newest.ack(multiple=True))
            for incoming in alone:
                self._send(incoming.ack())

    def _send(self, ack: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._acknowledged(ack))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def settled(self) -> None:
        """Every handled delivery acknowledged to the broker."""
        self._flush()
        await asyncio.gather(*self._sending)

    @staticmethod
    async def _acknowledged(ack: Any) -> None:
        try:
            await ack
        except Exception as error:  # the channel closed: the broker redelivers, inboxes dedupe
            log.warning("acknowledgement lost", error=type(error).__name__)


def requeue_after(incoming: AbstractIncomingMessage) -> float:
    """Seconds to hold a delivery that failed before handing it back: 0.25 s, doubling with
    each earlier delivery (the quorum queue's count), up to REQUEUE_PAUSE_MAX. The
    DELIVERY_LIMIT tries then span about six minutes."""
    count = (incoming.headers or {}).get("x-delivery-count", 0)
    tries = count if isinstance(count, int) else 0
    return float(min(0.25 * 2 ** min(tries, 16), REQUEUE_PAUSE_MAX))


async def _settle(acks: _Acks, incoming: AbstractIncomingMessage, frame: Any) -> None:
    """Send `frame` (a nack, a reject) for `incoming`, then count it settled: until the frame
    is sent, no `ack(multiple)` may pass it."""
    try:
        await frame
    except Exception as error:  # the channel closed: the broker delivers it again
        log.warning("handing back lost", error=type(error).__name__)
    finally:
        acks.settled_elsewhere(incoming)


async def _redeliver_once(incoming: AbstractIncomingMessage) -> None:
    """Redelivery mode: hand a first delivery back, acknowledge the second (one by one, not
    with `ack(multiple)`, which would also settle the ones handed back)."""
    if incoming.redelivered:
        await incoming.ack()
    else:
        await incoming.nack(requeue=True)


class RabbitMqTransport:
    def __init__(self, connection: AbstractRobustConnection, namespace: str) -> None:
        self._connection = connection
        self._ns = namespace
        self._publish_channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consume_channels: list[AbstractChannel] = []
        # each consumer's queue and tag, to cancel; its acknowledgements; deliveries begun
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._acks: list[_Acks] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    async def connect(cls, url: str, namespace: str) -> "RabbitMqTransport":
        return cls(await aio_pika.connect_robust(url, timeout=CONNECT_TIMEOUT), namespace)

    def queue_name(self, consumer: str) -> str:
        return queue_name(self._ns, consumer)

    def exchange_name(self, context: str) -> str:
        return exchange_name(self._ns, context)

    async def start(
        self, topology: Topology, local: Sequence[tuple[Subscription, Delivery]]
    ) -> None:
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=False)
        channel.return_callbacks.add(self._on_return)
        self._publish_channel = channel
        dead_letters = await channel.declare_exchange(
            f"{self._ns}.dead-letter", aio_pika.ExchangeType.FANOUT, durable=True
        )
        parked = await channel.declare_queue(
            f"{self._ns}.dead-letter", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await parked.bind(dead_letters)
        for context in sorted(topology.publishing()):
            self._exchanges[context] = await channel.declare_exchange(
                self.exchange_name(context), aio_pika.ExchangeType.TOPIC, durable=True
            )
        await self._declare_topics(channel, topology)
        for subscription in topology.subscriptions:
            queue = await channel.declare_queue(
                self.queue_name(subscription.consumer),
                durable=True,
                arguments=self._queue_arguments(),
            )
            for message_type in subscription.types:
                for publisher in topology.publishers_of(message_type):
                    await queue.bind(self._exchanges[publisher], routing_key=message_type)
        for subscription, deliver in local:
            await self._consume(subscription, deliver)

    async def _declare_topics(self, channel: AbstractChannel, topology: Topology) -> None:
        # Every process declares the same exchanges and bindings: declaring again is a no-op.
        for topic, sources in sorted(topology.topics.items()):
            exchange = await channel.declare_exchange(
                self.exchange_name(topic), aio_pika.ExchangeType.TOPIC, durable=True
            )
            for context, keys in sorted(sources.items()):
                for key in keys:
                    await exchange.bind(self._exchanges[context], routing_key=key)

    async def _consume(self, subscription: Subscription, deliver: Delivery) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        self._consume_channels.append(channel)
        # Declared (not merely looked up) on this channel so that the robust channel
        # re-declares it and resumes consuming after a reconnect.
        queue = await channel.declare_queue(
            self.queue_name(subscription.consumer), durable=True, arguments=self._queue_arguments()
        )

        acks = _Acks()
        self._acks.append(acks)

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            self._in_flight += 1
            self._idle.clear()
            try:
                await handle(incoming)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.set()

        async def handle(incoming: AbstractIncomingMessage) -> None:
            acks.received(incoming)
            try:
                message = decode_body(incoming.body, dict(incoming.headers or {}))
            except Exception:
                log.error("undecodable message parked", consumer=subscription.consumer)
                await _settle(acks, incoming, incoming.reject(requeue=False))
                return
            try:
                await deliver(message)
            except Exception as error:
                # Not even a retry record could be written (the database is down): the
                # message goes back to the queue, after a pause that grows with each try, so
                # that an outage of minutes does not spend its delivery limit in a second.
                # Meanwhile it stays open: no acknowledgement of a later one settles it.
                pause = requeue_after(incoming)
                log.warning(
                    "delivery failed, requeued",
                    consumer=subscription.consumer,
                    message_id=message.id,
                    error=type(error).__name__,
                    after=pause,
                )
                await asyncio.sleep(pause)
                await _settle(acks, incoming, incoming.nack(requeue=True))
                return
            if faults.REDELIVER_ALL:  # handled and committed; delivered again all the same
                await _settle(acks, incoming, _redeliver_once(incoming))
                return
            acks.done(incoming)

        self._consumers.append((queue, await queue.consume(on_message)))

    async def listen(self, context: str, types: Sequence[str], callback: Delivery) -> None:
        # A queue of this process's own, gone with its connection; redeclared and rebound by
        # the robust channel after a reconnect. Messages published meanwhile are missed.
        channel = await self._connection.channel()
        self._consume_channels.append(channel)
        exchange = await channel.declare_exchange(
            self.exchange_name(context), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            f"{self._ns}.listen.{context}.{uuid.uuid4().hex[:12]}", exclusive=True, auto_delete=True
        )
        for message_type in types:
            await queue.bind(exchange, routing_key=message_type)

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            try:
                await callback(decode_body(incoming.body, dict(incoming.headers or {})))
            except Exception as error:
                log.warning("listener failed", type=incoming.type, error=type(error).__name__)

        await queue.consume(on_message, no_ack=True)

    def _queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            # One consumer of a queue at a time, the others (a context's replicas) waiting to
            # take over: a consumer's messages, and so each aggregate's, are handled in the
            # order they were published, however many processes serve the context.
            "x-single-active-consumer": True,
            "x-dead-letter-exchange": f"{self._ns}.dead-letter",
            "x-delivery-limit": DELIVERY_LIMIT,
        }

    def _on_return(self, _channel: Any, message: AbstractIncomingMessage) -> None:
        # Every consumer's queue is declared before anything is published, so a returned
        # message is one no consumer subscribes to (such as `user.created` today).
        log.debug("message had no subscriber", type=message.type, message_id=message.message_id)

    async def publish(self, context: str, messages: Sequence[Envelope]) -> None:
        exchange = self._exchanges[context]
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await self._publish_all(exchange, messages)

    async def _publish_all(self, exchange: AbstractExchange, messages: Sequence[Envelope]) -> None:
        assert self._publish_channel is not None, "publishing before start()"
        # Straight onto the robust channel's current AMQP channel, skipping the aio-pika
        # `Message` per envelope that would be built, checked and turned into these same
        # properties (docs/performance.md).
        channel = await self._publish_channel.get_underlay_channel()
        # A nack raises here; a returned message (no queue takes its type) reaches
        # `_on_return` and counts as published.
        await asyncio.gather(
            *(
                channel.basic_publish(
                    encode_body(message),
                    exchange=exchange.name,
                    routing_key=message.type,
                    properties=Properties(
                        content_type="application/json",
                        delivery_mode=PERSISTENT,
                        headers=message.headers(),
                        message_id=message.id,
                        message_type=message.type,
                        timestamp=message.occurred_at,
                    ),
                    mandatory=True,
                )
                for message in messages
            )
        )

    async def drain(self, within: float) -> None:
        """Cancel every consumer (the broker sends no more), let the deliveries begun finish,
        and acknowledge them: none is left for the broker to deliver again."""
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):  # a channel already gone has nothing to cancel
                await queue.cancel(tag)
        self._consumers.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            log.warning("stopping with deliveries unfinished", in_flight=self._in_flight)
        await asyncio.gather(*(acks.settled() for acks in self._acks))

    async def close(self) -> None:
        # Closing the connection closes its channels; closing a robust channel on its own
        # first makes aio-pika try to reopen it while the connection goes away.
        self._consume_channels.clear()
        await self._connection.close()


async def delete_topology(url: str, namespace: str, topology: Topology) -> None:
    """Remove every queue and exchange of `namespace` (for tests and teardown)."""
    connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        channel = await connection.channel()
        for topic in topology.topics:
            await channel.exchange_delete(exchange_name(namespace, topic))
        for subscription in topology.subscriptions:
            await channel.queue_delete(queue_name(namespace, subscription.consumer))
        for context in topology.publishing():
            await channel.exchange_delete(exchange_name(namespace, context))
        await channel.queue_delete(f"{namespace}.dead-letter")
        await channel.exchange_delete(f"{namespace}.dead-letter")
    finally:
        await connection.close()
