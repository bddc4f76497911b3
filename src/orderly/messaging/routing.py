"""Who publishes which message type, and who consumes it."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from orderly.messaging.envelope import Envelope
from orderly.storage import Tx

# (a handler that `deduplicates` answers whether the message was new to it)
Handler = Callable[[Tx, Envelope], Awaitable[bool | None]]
Delivery = Callable[[Envelope], Awaitable[None]]
Concerns = Callable[[Envelope], bool]
# topic → publishing context → routing keys (message types, or AMQP topic patterns)
Topics = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Subscription:
    """A consumer: `handler` runs in `context`'s database for each message of `types`.

    `concerns`, if given, says from the message alone whether the handler would do anything
    with it: one it would leave as it is is acknowledged at once, without a transaction or
    an inbox row (an orchestrated order's `order.created` to the consumers its saga asks
    itself, say). The handler keeps the same check for the messages it is handed anyway.

    `deduplicates` names the table (in the consumer's database, with a `message_id` column)
    where the handler itself keeps, in the same transaction, what it took in (history's
    `order_events`): it does nothing for a message it has and answers whether the message
    was new, and the consumer writes no inbox row for it.
    """

    consumer: str
    context: str
    types: tuple[str, ...]
    handler: Handler = field(compare=False)
    concerns: Concerns | None = field(default=None, compare=False)
    deduplicates: str = field(default="", compare=False)


@dataclass(frozen=True)
class Topology:
    """Every context's published types and every subscription, whether served here or not.
    A type may have several publishers (a command two contexts' sagas send): its consumers
    hear it from each.

    `topics` are names of their own for some of the published types (seed 004's
    `wms.picking.events`), each fed by routing keys on its publishing contexts' exchanges. A
    key that matches nothing its context publishes is refused here, so that a renamed type
    fails every start rather than leaving its topic silently empty."""

    publishers: Mapping[str, str | tuple[str, ...]]
    subscriptions: Sequence[Subscription]
    topics: Topics = field(default_factory=dict)

    def __post_init__(self) -> None:
        for topic in self.topics:
            self.carried_by(topic)

    def publishers_of(self, message_type: str) -> tuple[str, ...]:
        try:
            found = self.publishers[message_type]
        except KeyError:
            raise LookupError(f"no context publishes {message_type!r}") from None
        return (found,) if isinstance(found, str) else found

    def publishing(self) -> set[str]:
        """The contexts that publish anything."""
        return {c for t in self.publishers for c in self.publishers_of(t)}

    def published_by(self, context: str) -> set[str]:
        return {t for t in self.publishers if context in self.publishers_of(t)}

    def carried_by(self, topic: str) -> set[str]:
        """The message types `topic` carries: those its keys match among its contexts'."""
        carried: set[str] = set()
        for context, keys in self.topics[topic].items():
            published = self.published_by(context)
            for key in keys:
                matched = {t for t in published if matches(key, t)}
                if not matched:
                    raise LookupError(f"{topic}: {context} publishes nothing {key!r} matches")
                carried |= matched
        return carried


def matches(pattern: str, routing_key: str) -> bool:
    """Whether an AMQP topic pattern takes a routing key: `*` is one word, `#` any number."""
    return _matches(pattern.split("."), routing_key.split("."))


def _matches(pattern: Sequence[str], words: Sequence[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_matches(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _matches(rest, words[1:])
