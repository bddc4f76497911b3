"""In-process transport: the relay hands each outbox batch straight to the consumers.

A batch counts as published only once every consumer has committed its effects (or its
retry record), so an outbox row is marked sent only after its delivery is durable: a crash
at any point redelivers from the outbox, and the consumers' inboxes drop the duplicates.
"""

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import structlog

from orderly.messaging.envelope import Envelope
from orderly.messaging.routing import Delivery, Subscription, Topology

log = structlog.get_logger(__name__)


class InProcessTransport:
    def __init__(self) -> None:
        self._by_type: dict[str, list[Delivery]] = defaultdict(list)

    async def start(
        self, topology: Topology, local: Sequence[tuple[Subscription, Delivery]]
    ) -> None:
        for subscription, deliver in local:
            for message_type in subscription.types:
                self._by_type[message_type].append(deliver)

    async def listen(self, context: str, types: Sequence[str], callback: Delivery) -> None:
        async def best_effort(message: Envelope) -> None:
            try:
                await callback(message)
            except Exception as error:
                log.warning("listener failed", type=message.type, error=type(error).__name__)

        def started(message: Envelope) -> "asyncio.Task[None]":
            # a task of its own, as a consumer's delivery is already under way when handed
            return asyncio.ensure_future(best_effort(message))

        for message_type in types:
            self._by_type[message_type].append(started)

    async def publish(self, context: str, messages: Sequence[Envelope]) -> None:
        deliveries = [
            deliver(message)
            for message in messages
            for deliver in self._by_type.get(message.type, ())
        ]
        # Each delivery is already under way: waiting for them one after the other waits for
        # all, and costs a wake-up per consumer batch, where `gather` pays callbacks and a
        # wrapper for each delivery. The first failure is raised once all are settled.
        failure: BaseException | None = None
        for delivery in deliveries:
            try:
                await delivery
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure

    async def drain(self, within: float) -> None:
        """Each delivery runs inside its publish: the relay, stopping, waits for its own."""

    async def close(self) -> None:
        self._by_type.clear()
