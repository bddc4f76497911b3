"""How history plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired
from orderly.history import api, domain, messages, recording, store
from orderly.messaging.routing import Subscription


def wire(settings: Settings) -> Wired:
    """One consumer keeps every event about orders, of every context, and moves the
    projections with it. Its event table, keyed by message id, is its inbox."""
    kept = Subscription(
        "history.record_on_event",
        "history",
        tuple(domain.RECORDED),
        recording.record_on_event,
        recording.kept,
        deduplicates=store.order_events.name,
    )
    return Wired(subscriptions=(kept,))


CONTEXT = ContextSpec(
    name="history",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
