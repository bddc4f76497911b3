"""How payments plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.ordering.messages import OrderCancelled, OrderConfirmed
from orderly.payments import api, messages, service, store
from orderly.payments.messages import ChargePayment


def wire(settings: Settings) -> Wired:
    service.configure(settings)
    return Wired(
        subscriptions=(
            consumer("payments", service.charge_on_order_confirmed, OrderConfirmed),
            consumer("payments", service.refund_on_order_cancelled, OrderCancelled),
            consumer("payments", service.charge_on_command, ChargePayment),
        ),
    )


CONTEXT = ContextSpec(
    name="payments",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
