"""Messages as other contexts would publish them, for tests that drive one context's handlers.
Each is a whole message of its kind, as its publisher declares it."""

from decimal import Decimal

from orderly.catalog.messages import ProductCreated
from orderly.identity.messages import AccountCreated
from orderly.messaging import Envelope, Message, new_message
from orderly.ordering.messages import OrderCancelled, OrderConfirmed, OrderCreated, OrderLine
from orderly.payments.messages import ChargePayment


class Pinged(Message):
    """A message of no context's: for the messaging kernel's own tests."""

    TYPE = "test.pinged"

    n: int | None = None
    x: int | None = None


def told(body: Message, aggregate_id: str = "", source: str = "test") -> Envelope:
    return new_message(body, source=source, aggregate_id=aggregate_id)


def product_created(
    product_id: str, sku: str = "SKU", price: Decimal | None = None, stock: int = 0
) -> Envelope:
    body = ProductCreated(
        product_id=product_id,
        name=f"Product {sku}",
        sku=sku,
        price=price,
        ndc=None,
        ndc11=None,
        dea_schedule=None,
        initial_stock=stock,
    )
    return told(body, product_id)


def account_created(account_id: str, segment: str = "independent") -> Envelope:
    body = AccountCreated(
        account_id=account_id,
        name=f"Pharmacy {account_id}",
        segment=segment,
        id340b=None,
        can_order_schedule_ii=False,
    )
    return told(body, account_id)


def order_created(
    order_id: str,
    lines: list[OrderLine],
    *,
    channel: str = "direct",
    held: bool = False,
    account_id: str | None = None,
) -> Envelope:
    body = OrderCreated(
        order_id=order_id,
        user_id="u-test",
        items=lines,
        total_amount=None,
        currency="USD",
        status="PENDING_SHIPMENT",
        channel=channel,
        shipping_address={},
        account_id=account_id,
        held=held,
    )
    return told(body, order_id)


def order_cancelled(order_id: str, reason: str = "cancelled") -> Envelope:
    body = OrderCancelled(order_id=order_id, user_id="u-test", items=[], reason=reason)
    return told(body, order_id)


def order_confirmed(
    order_id: str, total: Decimal, payment_method: str | None = "tok_visa", user_id: str = "u-test"
) -> Envelope:
    body = OrderConfirmed(
        order_id=order_id,
        user_id=user_id,
        total_amount=total,
        currency="USD",
        payment_method=payment_method,
    )
    return told(body, order_id)


def charge_payment(
    order_id: str, amount: Decimal, saga_id: str, payment_method: str = "tok_visa"
) -> Envelope:
    """A checkout saga's command to payments."""
    body = ChargePayment(
        order_id=order_id,
        user_id="u-test",
        amount=amount,
        currency="USD",
        payment_method=payment_method,
    )
    return new_message(body, source="test", aggregate_id=order_id, saga_id=saga_id)
