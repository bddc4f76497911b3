"""The transport port: publish confirmed batches, deliver to subscribed consumers."""

from collections.abc import Sequence
from typing import Protocol

from orderly.messaging.envelope import Envelope
from orderly.messaging.routing import Delivery, Subscription, Topology


class Transport(Protocol):
    async def start(
        self, topology: Topology, local: Sequence[tuple[Subscription, Delivery]]
    ) -> None:
        """Declare `topology` and start delivering to the `local` consumers."""
        ...

    async def publish(self, context: str, messages: Sequence[Envelope]) -> None:
        """Return once every message is safely handed over; raise if any was not."""
        ...

    async def listen(self, context: str, types: Sequence[str], callback: Delivery) -> None:
        """Also hand this process every later message of `types` that `context` publishes.

        Best effort and per process (every listening process gets each message): for news
        such as a revoked session, which needs no inbox and no retry."""
        ...

    async def drain(self, within: float) -> None:
        """Take no more deliveries, and return once those begun are handled and acknowledged
        (or `within` seconds have passed): a process stopping finishes what it started."""
        ...

    async def close(self) -> None: ...


async def open_transport(url: str | None, namespace: str = "orderly") -> Transport:
    if not url or url == "inprocess":
        from orderly.messaging.transports.inprocess import InProcessTransport

        return InProcessTransport()
    if url.startswith(("amqp://", "amqps://")):
        from orderly.messaging.transports.rabbitmq import RabbitMqTransport

        return await RabbitMqTransport.connect(url, namespace)
    raise ValueError(f"unsupported broker URL scheme: {url.split(':', 1)[0]!r}")


__all__ = ["Delivery", "Subscription", "Topology", "Transport", "open_transport"]
