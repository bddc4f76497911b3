"""The caller's cart: its lines with their holds, and its checkout (seed 000)."""

from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from orderly.ordering import carts, commands, placing
from orderly.ordering.api.dependencies import (
    Availability,
    Checkout,
    Checkouts,
    Ordering,
    Prices,
    Rules,
)
from orderly.ordering.api.placement import (
    MAX_UNITS,
    PLACING,
    PLACING_REFUSALS,
    CsosIn,
    PaymentMethod,
    ShippingAddress,
    answer,
)
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.carts import CartCheckedOut, CartEmpty, CartItemNotFound, NotInStock
from orderly.ordering.controlled import ControlledSubstanceNotAllowed
from orderly.ordering.domain import Channel
from orderly.ordering.products import asking_catalog
from orderly.web.auth import Caller
from orderly.web.fields import Whole
from orderly.web.refusals import refuses


class CartItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class CartQuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Whole = Field(ge=0, le=MAX_UNITS)


class CartLineOut(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    quantity: int
    unit_price: str | None
    line_total: str | None
    # units inventory holds for this line now: up to the caller's hold limit, while it lasts
    held: int
    # when the first of those holds runs out (a change to the line renews it); none: none held
    held_until: datetime | None
    available: int
    # units inventory holds for this line once it has heard of it: the line, up to the
    # caller's hold limit and to what it can have (`available` + `held`)
    hold: int


class CartOut(BaseModel):
    cart_id: str | None
    items: list[CartLineOut]
    total: str | None
    currency: str


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: ShippingAddress
    payment_method: PaymentMethod = None
    channel: Channel | None = None
    csos: CsosIn | None = None


CHECKOUT_REFUSALS = refuses(*PLACING_REFUSALS, CartEmpty, CartCheckedOut)


def _checks(ports: Checkout) -> carts.Checks:
    return carts.Checks(ports.availability, ports.standing)


async def _view(ports: Checkout) -> dict[str, Any]:
    assert ports.prices is not None, "ordering's routes are served beside its ports"
    limits = ports.policy.hold_limits
    return await carts.view(ports.db, ports.caller, ports.availability, ports.prices, limits)


router = APIRouter(prefix="/api/v1/cart", tags=["ordering"])


@router.get("", response_model=CartOut)
async def view_cart(
    db: Ordering, caller: Caller, availability: Availability, prices: Prices, rules: Rules
) -> dict[str, Any]:
    """The caller's cart with current prices and what is available of each line."""
    return await carts.view(db, caller, availability, prices, rules.hold_limits)


@router.post(
    "/items",
    response_model=CartOut,
    status_code=201,
    responses=refuses(UnknownProduct, NotInStock, ControlledSubstanceNotAllowed),
)
async def add_to_cart(body: CartItemIn, ports: Checkouts) -> dict[str, Any]:
    """Seed 000: add to the cart (`cart.item.added`); inventory holds the units a while.
    More than the caller can have, or a controlled substance it may not buy, is refused."""
    await asking_catalog(
        ports.db,
        ports.catalog,
        [body.product_id],
        ports.caller.token,
        lambda: carts.add_item(
            ports.db,
            ports.caller,
            body.product_id,
            body.quantity,
            _checks(ports),
            ports.policy.hold_limits,
        ),
    )
    return await _view(ports)


@router.put(
    "/items/{product_id}",
    response_model=CartOut,
    responses=refuses(CartItemNotFound, UnknownProduct, NotInStock, ControlledSubstanceNotAllowed),
)
async def change_quantity(
    product_id: str, body: CartQuantityIn, ports: Checkouts
) -> dict[str, Any]:
    await asking_catalog(
        ports.db,
        ports.catalog,
        [product_id],
        ports.caller.token,
        lambda: carts.set_quantity(
            ports.db,
            ports.caller,
            product_id,
            body.quantity,
            _checks(ports),
            ports.policy.hold_limits,
        ),
    )
    return await _view(ports)


@router.delete(
    "/items/{product_id}",
    response_model=CartOut,
    responses=refuses(CartItemNotFound, UnknownProduct),
)
async def remove_from_cart(
    product_id: str,
    db: Ordering,
    caller: Caller,
    availability: Availability,
    prices: Prices,
    rules: Rules,
) -> dict[str, Any]:
    limits = rules.hold_limits
    await carts.set_quantity(db, caller, product_id, 0, None, limits)
    return await carts.view(db, caller, availability, prices, limits)


@router.post("/checkout", **{**PLACING, "responses": CHECKOUT_REFUSALS})
async def check_out(body: CheckoutIn, response: Response, ports: Checkouts) -> dict[str, Any]:
    """The cart becomes an order through the caller's checkout flow; its holds become
    the order's reservation."""
    cmd = commands.PlaceOrder(
        lines=[],
        shipping_address=body.shipping_address.model_dump(),
        owner=ports.caller,
        idempotency_key=ports.idempotency_key,
        channel=body.channel,
        payment_method=body.payment_method,
        csos=None if body.csos is None else body.csos.saga_data(),
        from_cart=True,
    )
    placed = await placing.earlier_checkout(ports.db, cmd, ports.policy)
    if placed is None:
        cart_id, lines = await carts.lines(ports.db, ports.caller)
        cmd = replace(cmd, lines=lines, cart_id=cart_id)
        placed = await placing.place_order(
            ports.db,
            ports.availability,
            cmd,
            ports.policy,
            ports.standing,
            ports.catalog,
            ports.prices,
        )
    return answer(placed, response)
