"""How payments plugs into a running Orderly."""

from orderly.contexts import ContextSpec, consumer
from orderly.ordering.messages import ORDER_CANCELLED, ORDER_CONFIRMED
from orderly.payments import api, messages, service, store
from orderly.payments.messages import PAYMENT_CHARGE

CONTEXT = ContextSpec(
    name="payments",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(
        consumer("payments", service.charge_on_order_confirmed, ORDER_CONFIRMED),
        consumer("payments", service.refund_on_order_cancelled, ORDER_CANCELLED),
        consumer("payments", service.charge_on_command, PAYMENT_CHARGE),
    ),
    router=api.router,
    tables=store.metadata,
    configure=service.configure,
)
