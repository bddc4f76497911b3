"""How erp plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.erp import api, handlers, messages, store
from orderly.erp.calls import sales_order_caller
from orderly.erp.messages import CreateSalesOrder
from orderly.erp.policy import policy
from orderly.erp.port import HttpErp
from orderly.ordering.messages import OrderCancelled, OrderCredited


def wire(settings: Settings) -> Wired:
    rules = policy(settings)
    erp = HttpErp(
        rules.url,
        rules.timeout,
        rules.retries,
        backoff=rules.backoff,
        connections=rules.concurrency,
    )
    return Wired(
        subscriptions=(
            consumer("erp", handlers.create_sales_order, CreateSalesOrder),
            consumer("erp", handlers.cancel_on_order_cancelled, OrderCancelled),
            consumer("erp", handlers.credit_on_order_credited, OrderCredited),
        ),
        workers=(sales_order_caller(erp, rules),),
    )


CONTEXT = ContextSpec(
    name="erp",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
