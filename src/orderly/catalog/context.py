"""How catalog plugs into a running Orderly."""

from orderly.catalog import api, messages, store
from orderly.contexts import ContextSpec

CONTEXT = ContextSpec(
    name="catalog",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(),
    router=api.router,
    tables=store.metadata,
)
