"""How identity plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired
from orderly.identity import api, audit, messages, store


def wire(settings: Settings) -> Wired:
    return Wired(
        workers=(audit.audit_keeper,),
    )


CONTEXT = ContextSpec(
    name="identity",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
    guards_own_routes=True,
)
