"""The ERP context's public messages: the checkout saga's last step and its answers."""

from decimal import Decimal
from typing import Any

from orderly.messaging import Message, Part

SOURCE = "erp-service"


class SalesOrderLine(Part):
    product_id: str
    quantity: int
    price: Decimal
    ndc: str | None = None


class CreateSalesOrder(Message):
    """Create the order's sales order in the ERP, once: the order's id is the idempotency
    key of every call, so a command sent again (or a call retried) never makes a second one."""

    TYPE = "erp.sales_order.create"

    order_id: str
    run: int
    account_id: str | None
    ship_to: dict[str, Any]
    items: list[SalesOrderLine]
    total_amount: Decimal
    currency: str


class SalesOrderCreated(Message):
    """The ERP's sales order number for the order (SAP's `SalesOrder`, e.g. `4500012345`)."""

    TYPE = "erp.sales_order.created"

    order_id: str
    run: int
    sales_order_number: str


class SalesOrderFailed(Message):
    """The ERP did not make the sales order: `erp_timeout`, `erp_error` or `erp_rejected`;
    `order_cancelled` when the order was cancelled before the ERP was asked."""

    TYPE = "erp.sales_order.failed"

    order_id: str
    run: int
    reason: str
    detail: str


class SalesOrderCancelled(Message):
    """The order was cancelled, and so is its sales order in the ERP."""

    TYPE = "erp.sales_order.cancelled"

    order_id: str
    sales_order_number: str


class SalesOrderCredited(Message):
    """The ERP took a credit memo request on the order's sales order: units that will not
    ship (`order.credited`), off its invoice."""

    TYPE = "erp.sales_order.credited"

    order_id: str
    sales_order_number: str
    credit_id: str
    product_id: str
    quantity: int
    amount: Decimal


MESSAGES = (
    CreateSalesOrder,
    SalesOrderCreated,
    SalesOrderFailed,
    SalesOrderCancelled,
    SalesOrderCredited,
)
PUBLISHES = (
    SalesOrderCreated.TYPE,
    SalesOrderFailed.TYPE,
    SalesOrderCancelled.TYPE,
    SalesOrderCredited.TYPE,
)
