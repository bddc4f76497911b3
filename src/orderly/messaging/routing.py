"""Who publishes which message type, and who consumes it."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from orderly.messaging.envelope import Envelope
from orderly.storage import Tx

Handler = Callable[[Tx, Envelope], Awaitable[None]]
Delivery = Callable[[Envelope], Awaitable[None]]
Concerns = Callable[[Envelope], bool]


@dataclass(frozen=True)
class Subscription:
    """A consumer: `handler` runs in `context`'s database for each message of `types`.

    `concerns`, if given, says from the message alone whether the handler would do anything
    with it: one it would leave as it is is acknowledged at once, without a transaction or
    an inbox row (an orchestrated order's `order.created` to the consumers its saga asks
    itself, say). The handler keeps the same check for the messages it is handed anyway.
    """

    consumer: str
    context: str
    types: tuple[str, ...]
    handler: Handler = field(compare=False)
    concerns: Concerns | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Topology:
    """Every context's published types and every subscription, whether served here or not.
    A type may have several publishers (a command two contexts' sagas send): its consumers
    hear it from each."""

    publishers: Mapping[str, str | tuple[str, ...]]
    subscriptions: Sequence[Subscription]

    def publishers_of(self, message_type: str) -> tuple[str, ...]:
        try:
            found = self.publishers[message_type]
        except KeyError:
            raise LookupError(f"no context publishes {message_type!r}") from None
        return (found,) if isinstance(found, str) else found

    def publishing(self) -> set[str]:
        """The contexts that publish anything."""
        return {c for t in self.publishers for c in self.publishers_of(t)}
