"""How catalog plugs into a running Orderly."""

from orderly.catalog import api, messages, service, store
from orderly.contexts import ContextSpec, consumer
from orderly.pricing.messages import PriceWacChanged

CONTEXT = ContextSpec(
    name="catalog",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(consumer("catalog", service.price_on_wac_changed, PriceWacChanged),),
    router=api.router,
    tables=store.metadata,
)
