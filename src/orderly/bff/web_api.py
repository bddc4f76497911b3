"""BFF-web's REST routes (seed 002, port 3010): checkout, an order's details gathered from
four contexts at once, and, where this process does not serve them itself, registration
and product creation forwarded to identity and catalog."""

from collections.abc import Awaitable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from orderly.bff import checkout
from orderly.bff.checkout import CheckoutItem, CheckoutOut
from orderly.bff.parts import Parts
from orderly.bff.port import Contexts, Forwarded, Json, Refused
from orderly.kernel.errors import Unprocessable
from orderly.kernel.principal import Principal
from orderly.ordering.api.placement import PaymentMethod
from orderly.ordering.domain import Channel
from orderly.ordering.queries import OrderNotFound
from orderly.web.auth import Caller, principal
from orderly.web.fields import PostalAddress
from orderly.web.refusals import refuses


async def contexts(request: Request) -> Contexts:
    found: Contexts = request.app.state.bff
    return found


Bff = Annotated[Contexts, Depends(contexts)]


class WebCheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    userId: str = Field(min_length=1, max_length=64)  # noqa: N815
    items: list[CheckoutItem] = Field(min_length=1, max_length=500)
    shippingAddress: PostalAddress  # noqa: N815
    paymentMethod: PaymentMethod = None  # noqa: N815
    # seed 002's flow by default; any other the caller may use
    channel: Channel = Channel.B2C


class Unavailable(BaseModel):
    part: str
    context: str
    reason: str


class DetailsOut(BaseModel):
    order: dict[str, Any] | None
    user: dict[str, Any] | None
    products: list[dict[str, Any]] | None
    payments: list[dict[str, Any]] | None
    unavailable: list[Unavailable]


router = APIRouter(prefix="/api/v1", tags=["bff-web"])


@router.post(
    "/checkout",
    status_code=201,
    response_model=CheckoutOut,
    responses=refuses(checkout.NotTheCaller),
)
async def web_checkout(body: WebCheckoutIn, request: Request, caller: Caller, bff: Bff) -> Response:
    """Seed 002's checkout: the caller's prices, their total, and the order created."""
    owner = checkout.in_whose_name(caller, body.userId)
    lines = [(item.productId, item.quantity) for item in body.items]
    # an operator's own prices are not its customer's: ordering prices that order alone
    expected = None if owner else await checkout.priced_total(bff, caller, lines)
    order = {
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "shipping_address": body.shippingAddress.model_dump(),
        "payment_method": body.paymentMethod,
        "channel": body.channel,
        **owner,
    }
    status, shown, headers = await checkout.place(bff, caller, order, request.headers, expected)
    return JSONResponse(shown, status_code=status, headers=headers)


@router.get(
    "/orders/{order_id}/details", response_model=DetailsOut, responses=refuses(OrderNotFound)
)
async def order_details(order_id: str, caller: Caller, bff: Bff) -> dict[str, Any]:
    """Seed 002's order details: the order, its user, its products and its payments, asked
    of ordering, identity and payments at once, then of catalog for the order's products.
    A context that does not answer leaves its part null and named in `unavailable`."""
    parts = Parts()
    first = await parts.gather(
        {
            "order": bff.order(caller, order_id),
            "user": _user(parts, bff, caller, caller.user_id),
            "payments": bff.payments(caller, [order_id]),
        }
    )
    order: Json | None = first["order"]
    user = first["user"]
    products = None
    if order is None:
        parts.missing("products", "ordering", "the order's lines are not known")
    else:
        owner = order["user_id"]
        ids = list(dict.fromkeys(item["product_id"] for item in order["items"]))
        later: dict[str, Awaitable[Any]] = {"products": bff.products(caller, ids)}
        if owner != caller.user_id and caller.is_operator:
            later["user"] = _user(parts, bff, caller, owner)
        elif owner != caller.user_id:  # a member sees its account's orders, not its members
            user = None
            parts.missing("user", "identity", "placed by another member of the account")
        second = await parts.gather(later)
        products = second["products"]
        user = second.get("user", user)
    return {
        "order": order,
        "user": user,
        "products": products,
        "payments": first["payments"],
        "unavailable": parts.unavailable,
    }


async def _user(parts: Parts, bff: Contexts, caller: Principal, user_id: str) -> Json | None:
    """The user, or None named among the missing parts where identity keeps no such user
    (one an external issuer vouches for)."""
    try:
        return await bff.user(caller, user_id)
    except Refused as refusal:
        parts.missing("user", "identity", refusal.code)
        return None


# Forwarded as they are, where this process does not serve the context itself.
registration = APIRouter(prefix="/api/v1", tags=["bff-web"])
product_creation = APIRouter(prefix="/api/v1", tags=["bff-web"])


async def _forward(request: Request, bff: Contexts, context: str, *, signed_in: bool) -> Response:
    caller = await principal(request) if signed_in else None
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise Unprocessable("the body is not JSON") from None
    # identity counts registrations by the client's address
    client = request.client.host if request.client is not None else None
    sent = Forwarded("POST", request.url.path, body, request.headers, client)
    answer = await bff.send(context, caller, sent)
    carried = {k: v for k, v in answer.headers.items() if k.lower() in checkout.ANSWER_HEADERS}
    media = answer.headers.get("content-type", "application/json")
    return Response(orjson.dumps(answer.body), answer.status, carried, media_type=media)


@registration.post("/auth/register", status_code=202)
async def register(request: Request, bff: Bff) -> Response:
    """Seed 002's registration, forwarded to identity (which throttles by the client's
    address: name this BFF among identity's `ORDERLY_TRUSTED_PROXIES`)."""
    return await _forward(request, bff, "identity", signed_in=False)


@product_creation.post("/products", status_code=201)
async def create_product(request: Request, bff: Bff) -> Response:
    """Seed 002's product creation (operators), forwarded to catalog."""
    return await _forward(request, bff, "catalog", signed_in=True)
