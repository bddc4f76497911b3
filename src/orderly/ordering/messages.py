"""Ordering's public messages."""

from datetime import date
from decimal import Decimal
from typing import Any

from orderly.compliance.messages import CheckCompliance, VoidCompliance
from orderly.erp.messages import CreateSalesOrder
from orderly.inventory.messages import ReleaseInventory, ReserveInventory
from orderly.messaging import Message, Part
from orderly.payments.messages import ChargePayment
from orderly.pricing.messages import LockPrices, VoidPriceLock

SOURCE = "sales-service"

# Orders are priced in one currency per deployment for now.
CURRENCY = "USD"


class OrderLine(Part):
    product_id: str
    quantity: int
    price: Decimal | None = None
    # where the price comes from: pricing locks the order's figures from these
    price_source: str | None = None
    contract_id: str | None = None
    price_effective_date: date | None = None


class OrderCreated(Message):
    """Seed 002's `{orderId, userId, items[], totalAmount}`, and what the order's other
    consumers need: fulfillment ships it, pricing locks its prices, inventory reserves it
    (unless a saga asks itself, `orchestrated`, or the stock is held already, `held`)."""

    TYPE = "order.created"
    VERSION = 2  # 1 also carried seed 001's snake_case spellings of the same fields

    order_id: str
    user_id: str
    items: list[OrderLine]
    # null when a line has no price (seed 001 allows one)
    total_amount: Decimal | None
    currency: str
    status: str
    channel: str
    shipping_address: dict[str, Any]
    payment_method: str | None = None
    account_id: str | None = None
    cart_id: str | None = None
    orchestrated: bool = False
    held: bool = False


class CancelledLine(Part):
    """A line of a cancelled order."""

    product_id: str
    quantity: int


class OrderCancelled(Message):
    """Seed 002's `{orderId, items[], reason}`: inventory gives the units back, payments
    refunds, pricing voids the order's lock, fulfillment stops the shipment."""

    TYPE = "order.cancelled"
    VERSION = 2  # 1 also carried `order_id` and `product_id`

    order_id: str
    user_id: str
    items: list[CancelledLine]
    reason: str


class OrderConfirmed(Message):
    """Seed 002's `{orderId, userId, totalAmount}`: stock is reserved; payments charges it."""

    TYPE = "order.confirmed"

    order_id: str
    user_id: str
    total_amount: Decimal
    currency: str
    payment_method: str | None = None
    account_id: str | None = None
    # B2B (seed 000): confirmed once the ERP made its sales order
    sales_order_number: str | None = None
    channel: str | None = None


class OrderFailed(Message):
    """A B2B checkout failed at `step` and its completed steps were undone in reverse
    (seed 000's compensation); an operator may replay it from its dead letter. `reason` is a
    stable code, `detail` a sentence the pharmacy can read."""

    TYPE = "order.failed"

    order_id: str
    user_id: str
    account_id: str | None
    step: str
    reason: str
    detail: str


class OrderApproved(Message):
    """An approver of the order's account approved it (never the buyer who placed it)."""

    TYPE = "order.approved"

    order_id: str
    account_id: str
    approver_id: str


class OrderRejected(Message):
    """An approver of the order's account rejected it; its checkout fails."""

    TYPE = "order.rejected"

    order_id: str
    account_id: str
    approver_id: str
    note: str


class RetryCheckout(Message):
    """A failed B2B checkout, parked as a dead letter of ordering's own: an operator's replay
    of it runs the checkout's saga again (`run` is the run that failed)."""

    TYPE = "order.checkout_retry"

    order_id: str
    run: int


class CartItemAdded(Message):
    """Seed 000: a cart line was added or changed (`quantity` is the line's total); inventory
    holds `hold` units of it (the quantity up to the customer's limit) for the cart."""

    TYPE = "cart.item.added"

    cart_id: str
    product_id: str
    quantity: int
    hold: int
    customer_id: str
    account_id: str | None = None


class CartItemRemoved(Message):
    """The line left the cart; inventory lets its hold go."""

    TYPE = "cart.item.removed"

    cart_id: str
    product_id: str


class OrderCredited(Message):
    """Units of the order that will not ship, though it was paid for them: a short pick
    cancelled them from their line, or an operator cancelled their backorder. The customer
    is owed `amount` (their line's unit price each); payments refunds it."""

    TYPE = "order.credited"

    credit_id: str
    order_id: str
    product_id: str
    quantity: int
    amount: Decimal
    currency: str
    reason: str


MESSAGES = (
    OrderCreated,
    OrderCredited,
    OrderCancelled,
    OrderConfirmed,
    OrderFailed,
    OrderApproved,
    OrderRejected,
    RetryCheckout,
    CartItemAdded,
    CartItemRemoved,
)

# The guarded checkout's saga sends inventory and payments commands in their own words.
PUBLISHES = (
    *(m.TYPE for m in MESSAGES),
    ReserveInventory.TYPE,
    ReleaseInventory.TYPE,
    ChargePayment.TYPE,
    # and the B2B checkout's saga (seed 000) those of compliance, pricing and the ERP
    CheckCompliance.TYPE,
    VoidCompliance.TYPE,
    LockPrices.TYPE,
    VoidPriceLock.TYPE,
    CreateSalesOrder.TYPE,
)
