"""How identity plugs into a running Orderly."""

from orderly.contexts import ContextSpec
from orderly.identity import api, messages, service, store

CONTEXT = ContextSpec(
    name="identity",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(),
    router=api.router,
    tables=store.metadata,
    workers=(service.audit_keeper,),
)
