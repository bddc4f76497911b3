"""How compliance plugs into a running Orderly."""

from orderly.compliance import api, messages, store
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired


def wire(settings: Settings) -> Wired:
    return Wired()


CONTEXT = ContextSpec(
    name="compliance",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
