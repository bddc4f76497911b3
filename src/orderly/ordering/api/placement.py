"""What both routes that place an order share: the address and payment they take, the answer
they give, and the refusals an order's placing may end in."""

from typing import Annotated, Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from orderly.kernel.errors import Conflict, OrderlyError
from orderly.ordering import commands
from orderly.ordering.api.dependencies import IDEMPOTENCY_KEY_HEADER
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.buyers import NotABuyer
from orderly.ordering.commands import ChannelNotAllowed, PaymentMethodRequired, ProductNotPriced
from orderly.ordering.controlled import ControlledSubstanceNotAllowed
from orderly.ordering.domain import DuplicateProduct, InsufficientStock
from orderly.ordering.idempotency import IdempotencyKeyInUse, IdempotencyKeyReused
from orderly.web.fields import PostalAddress
from orderly.web.refusals import refuses

MAX_UNITS = 1_000_000

# A gateway token (tok_…) or a saved payment method's id (pm_…); never a card number.
PaymentMethod = Annotated[
    str | None, Field(max_length=80, pattern=r"^(tok_[A-Za-z0-9_]{1,60}|pm_[0-9a-f-]{36})$")
]


class ShippingAddress(PostalAddress):
    """Where the order goes."""


class CsosIn(BaseModel):
    """A Schedule II order's CSOS signature (b2b): the purchaser's CSOS order number and an
    ECDSA signature (base64, DER) over the order, made with the key of the certificate
    registered with the account. Compliance checks both; a defective one is rejected."""

    model_config = ConfigDict(extra="forbid")

    order_number: str = Field(min_length=1, max_length=20)
    signature: str = Field(min_length=1, max_length=400, pattern=r"^[A-Za-z0-9+/=]+$")

    def saga_data(self) -> dict[str, str]:
        return {"orderNumber": self.order_number, "signature": self.signature}


class OrderCreated(BaseModel):
    """Seed 001's {order_id, status}; other flows add the channel and the total."""

    order_id: str
    status: str
    channel: str | None = None
    total_amount: str | None = None
    currency: str | None = None


class PaymentFailed(OrderlyError):
    """Seed 003's "Order Failed (Payment Issue)": the order exists, `PAYMENT_FAILED`, its
    stock given back."""

    status = 402
    code = "payment_failed"
    title = "The payment failed"


class OrderCancelled(Conflict):
    """The order exists but ended `CANCELLED` before any payment was taken: its stock was
    short when the reservation was made, though the check had passed."""

    code = "order_cancelled"
    title = "The order was cancelled before it was placed"


PLACING_REFUSALS = (
    InsufficientStock,
    ControlledSubstanceNotAllowed,
    ChannelNotAllowed,
    NotABuyer,
    UnknownProduct,
    DuplicateProduct,
    ProductNotPriced,
    PaymentMethodRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    PaymentFailed,
    OrderCancelled,
)

# How both routes that place an order answer: 201 and seed 001's {order_id, status} (more for
# the other flows), with the Idempotency-Key their `Checkout` reads.
PLACING: dict[str, Any] = {
    "status_code": 201,
    "response_model": OrderCreated,
    "response_model_exclude_none": True,
    "openapi_extra": IDEMPOTENCY_KEY_HEADER,
    "responses": refuses(*PLACING_REFUSALS),
}


def answer(placed: commands.Placed, response: Response) -> dict[str, Any]:
    """201 for a new order; 202 while a guarded checkout's outcome is not known yet; an
    order that ended failed, a problem (402 or 409) that names it. A replayed
    Idempotency-Key answers the same, with 200 for a success and `Idempotent-Replayed`."""
    failed = _failure(placed.response)
    if failed is not None:
        headers = {"Location": f"/api/v1/orders/{placed.response['order_id']}"}
        if placed.replayed:
            headers["Idempotent-Replayed"] = "true"
        raise failed.with_headers(headers)
    if placed.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    elif placed.accepted_only:
        response.status_code = 202
    return placed.response


def _failure(order: dict[str, Any]) -> OrderlyError | None:
    # the problem's `status` is the HTTP status: the order's is `order_status`
    status = str(order["status"]).upper()
    named = {k: v for k, v in order.items() if k != "status"} | {"order_status": order["status"]}
    if status == "PAYMENT_FAILED":
        return PaymentFailed(
            f"order {order['order_id']} was not placed: its payment failed", **named
        )
    if status == "CANCELLED":
        return OrderCancelled(
            f"order {order['order_id']} was cancelled: its stock could not be reserved",
            **named,
        )
    return None
