"""An order's hold, which ordering asks for before it writes a direct order (services only)."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from orderly.inventory import provisional
from orderly.inventory.api.dependencies import Inventory
from orderly.inventory.api.stock import AvailabilityItemIn
from orderly.inventory.policy import policy
from orderly.inventory.service import ProductNotFound
from orderly.kernel.errors import NotFound
from orderly.web.auth import Caller, Service
from orderly.web.dependencies import CurrentRuntime
from orderly.web.refusals import refuses


class OrderHoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    items: list[AvailabilityItemIn] = Field(min_length=1, max_length=500)
    # the caller's cart, whose soft holds this order's hold takes over
    cart_id: str | None = Field(default=None, min_length=1, max_length=64)
    # whose order it is: taken from an operator only (one ordering for a user); anyone
    # else's hold is in its own name
    customer: str | None = Field(default=None, min_length=1, max_length=64)
    account: str | None = Field(default=None, max_length=64)


class HeldLineOut(BaseModel):
    product_id: str
    quantity: int
    dc: str


class OrderHoldOut(BaseModel):
    order_id: str
    items: list[HeldLineOut]


router = APIRouter(tags=["inventory"])


@router.post(
    "/api/v1/inventory/reservations",
    status_code=201,
    response_model=OrderHoldOut,
    responses=refuses(provisional.Short, ProductNotFound, NotFound),
)
async def hold(
    body: OrderHoldIn, db: Inventory, caller: Caller, _: Service, run: CurrentRuntime
) -> dict[str, Any]:
    """Ordering, for the caller, before it writes a direct order: hold its stock. The
    hold runs out unless the order's `order.created` confirms it. Short: 409. Services
    of the deployment only (`ORDERLY_SERVICE_KEY`)."""
    requested = [(item.product_id, item.quantity) for item in body.items]
    # an operator's order for a user is held in that user's name
    mine = not caller.is_operator or body.customer is None
    outcome = await provisional.hold(
        db,
        body.order_id,
        requested,
        account=caller.account if mine else body.account,
        customer=caller.user_id if mine else str(body.customer),
        cart_id=body.cart_id or "",
        ttl=policy(run.settings).hold_ttl,
    )
    if not outcome.reserved:
        raise provisional.Short(
            "not every line can be held", items=provisional.short_lines(outcome)
        )
    lines = [
        {"product_id": i["productId"], "quantity": i["quantity"], "dc": i["dc"]}
        for i in outcome.items
    ]
    return {"order_id": body.order_id, "items": lines}


@router.delete(
    "/api/v1/inventory/reservations/{order_id}",
    status_code=204,
    responses=refuses(provisional.HoldConfirmed, NotFound),
)
async def let_go(order_id: str, db: Inventory, _: Caller, __: Service) -> None:
    """Ordering: give back the hold of an order it did not write; a written order's:
    409. Services of the deployment only."""
    await provisional.let_go(db, order_id)
