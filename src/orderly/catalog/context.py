"""How catalog plugs into a running Orderly."""

from orderly.catalog import api, messages, service, store
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.pricing.messages import PriceWacChanged


def wire(settings: Settings) -> Wired:
    return Wired(
        subscriptions=(consumer("catalog", service.price_on_wac_changed, PriceWacChanged),),
    )


CONTEXT = ContextSpec(
    name="catalog",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
