"""What carts hold of a product, as operators see and release it."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from orderly.inventory import service
from orderly.inventory.api.dependencies import HoldKeeper, Inventory, StockKeeper
from orderly.inventory.service import ProductNotFound
from orderly.web.refusals import refuses


class HoldOut(BaseModel):
    cart_id: str
    customer_id: str | None
    account_id: str | None
    dc: str
    quantity: int
    first_held_at: datetime
    expires_at: datetime


router = APIRouter(tags=["inventory"])


@router.get(
    "/api/v1/inventory/{product_id}/holds",
    response_model=list[HoldOut],
    responses=refuses(ProductNotFound),
)
async def list_holds(product_id: str, db: Inventory, _: StockKeeper) -> list[dict[str, Any]]:
    """Operators: the carts holding the product now, their customers, and until when."""
    return await service.holds(db, product_id)


@router.delete(
    "/api/v1/inventory/{product_id}/holds/{cart_id}",
    status_code=204,
    responses=refuses(service.HoldNotFound, ProductNotFound),
)
async def release_hold(product_id: str, cart_id: str, db: Inventory, _: HoldKeeper) -> Response:
    """Operators: let one cart's hold on the product go."""
    await service.release_hold(db, product_id, cart_id)
    return Response(status_code=204)
