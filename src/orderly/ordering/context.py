"""How ordering plugs into a running Orderly."""

from typing import TYPE_CHECKING

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.compliance.messages import (
    ComplianceHeld,
    CompliancePassed,
    ComplianceRejected,
    ComplianceVoided,
)
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.erp.messages import SalesOrderCreated, SalesOrderFailed
from orderly.fulfillment.messages import BackorderCancelled, LineCancelled, OrderStatusUpdated
from orderly.inventory.messages import (
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
)
from orderly.ordering import api, handlers, idempotency, messages, sagas, store
from orderly.ordering.messages import RetryCheckout
from orderly.ordering.policy import policy
from orderly.payments.messages import PaymentCompleted, PaymentFailed, RefundCreated
from orderly.pricing.messages import PriceLocked, PriceLockFailed, PriceLockVoided

if TYPE_CHECKING:
    from orderly.config import Settings


def wire(settings: "Settings") -> Wired:
    """The handlers and the saga's timer with the deployment's policy bound in: the
    checkout flows' settings, and how much a cart may hold."""
    rules = policy(settings)
    checkout = handlers.CheckoutHandlers(rules)
    return Wired(
        subscriptions=(
            consumer(
                "ordering", handlers.apply_status_update_on_order_status_updated, OrderStatusUpdated
            ),
            consumer("ordering", checkout.on_inventory_reserved, InventoryReserved),
            consumer("ordering", checkout.on_inventory_insufficient, InventoryInsufficient),
            consumer("ordering", checkout.on_payment_completed, PaymentCompleted),
            consumer("ordering", checkout.on_payment_failed, PaymentFailed),
            consumer("ordering", handlers.note_refund_on_refund_created, RefundCreated),
            consumer(
                "ordering",
                handlers.credit_on_units_not_shipped,
                LineCancelled,
                BackorderCancelled,
            ),
            consumer("ordering", handlers.copy_product_on_product_created, ProductCreated),
            consumer("ordering", handlers.copy_product_on_product_updated, ProductUpdated),
            # the sagas' other answers come through the handlers above
            consumer(
                "ordering",
                checkout.advance_saga_on_reply,
                InventoryReleased,
                CompliancePassed,
                ComplianceRejected,
                ComplianceHeld,
                ComplianceVoided,
                PriceLocked,
                PriceLockFailed,
                PriceLockVoided,
                SalesOrderCreated,
                SalesOrderFailed,
            ),
            # a failed B2B checkout's dead letter, replayed by an operator
            consumer("ordering", checkout.retry_checkout, RetryCheckout),
        ),
        workers=(sagas.timer(rules), idempotency.key_keeper),
    )


CONTEXT = ContextSpec(
    name="ordering",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
