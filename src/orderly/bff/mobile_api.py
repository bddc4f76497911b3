"""BFF-mobile's REST route (seed 002, port 3011): a checkout with the caller's saved address
and payment method, answered with no more than the order's id, status and total."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from orderly.bff import checkout
from orderly.bff.checkout import CheckoutItem, CheckoutOut
from orderly.bff.parts import Parts
from orderly.bff.port import ContextUnavailable
from orderly.bff.web_api import Bff
from orderly.ordering.domain import Channel
from orderly.payments.methods import PaymentMethodNotFound
from orderly.web.auth import Caller
from orderly.web.refusals import refuses

_ADDRESS = ("name", "line1", "line2", "city", "state", "postal_code", "country")


class MobileCheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    userId: str = Field(min_length=1, max_length=64)  # noqa: N815
    items: list[CheckoutItem] = Field(min_length=1, max_length=500)
    addressId: str = Field(min_length=1, max_length=64)  # noqa: N815
    paymentMethodId: str = Field(min_length=1, max_length=80)  # noqa: N815
    channel: Channel = Channel.B2C


router = APIRouter(prefix="/api/v1", tags=["bff-mobile"])


@router.post(
    "/checkout",
    status_code=201,
    response_model=CheckoutOut,
    responses=refuses(checkout.NotTheCaller, PaymentMethodNotFound, ContextUnavailable),
)
async def mobile_checkout(
    body: MobileCheckoutIn, request: Request, caller: Caller, bff: Bff
) -> Response:
    """Seed 002's flow 5: the saved address, the saved payment method and the caller's
    prices asked at once, then the order created."""
    owner = checkout.in_whose_name(caller, body.userId)
    lines = [(item.productId, item.quantity) for item in body.items]
    parts = Parts()
    found = await parts.gather(
        {
            "address": bff.address(caller, body.userId, body.addressId),
            "method": bff.payment_method(caller, body.paymentMethodId),
            "total": checkout.priced_total(bff, caller, lines),
        }
    )
    for missing in parts.unavailable:  # a checkout is whole or not at all
        raise ContextUnavailable(missing["context"], missing["reason"])
    if found["method"]["user_id"] != body.userId:  # an operator may see another user's
        raise PaymentMethodNotFound(f"payment method {body.paymentMethodId} does not exist")
    address = found["address"]
    order = {
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "shipping_address": {key: address[key] for key in _ADDRESS},
        "payment_method": found["method"]["id"],
        "channel": body.channel,
        **owner,
    }
    status, shown, headers = await checkout.place(
        bff, caller, order, request.headers, found["total"]
    )
    return JSONResponse(shown, status_code=status, headers=headers)
