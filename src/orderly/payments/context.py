"""How payments plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCredited
from orderly.payments import api, messages, store
from orderly.payments.charging import Charging
from orderly.payments.gateway import gateway_for
from orderly.payments.messages import ChargePayment


def wire(settings: Settings) -> Wired:
    charging = Charging(gateway_for(settings))
    return Wired(
        subscriptions=(
            consumer(
                "payments",
                charging.charge_on_order_confirmed,
                OrderConfirmed,
                concerns=charging.paid_here,
            ),
            consumer("payments", charging.refund_on_order_cancelled, OrderCancelled),
            consumer("payments", charging.refund_on_order_credited, OrderCredited),
            consumer("payments", charging.charge_on_command, ChargePayment),
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
