"""How notifications plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired
from orderly.notifications import api, messages, store


def wire(settings: Settings) -> Wired:
    return Wired()


CONTEXT = ContextSpec(
    name="notifications",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
