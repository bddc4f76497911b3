"""Stock as everyone sees it: distribution centres, seed 001's availability check, a product's
position."""

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from orderly.inventory import service
from orderly.inventory.api.dependencies import Inventory, ProductId, StockKeeper
from orderly.inventory.domain import DC_CODE, InvalidStock
from orderly.inventory.service import DcExists, DcNotFound, ProductNotFound
from orderly.kernel.batch import MAX_BATCH
from orderly.web.auth import Caller, Operator, principal
from orderly.web.fields import QueryId, Whole
from orderly.web.refusals import refuses

MAX_UNITS = 1_000_000_000


def schema_pattern(regex: re.Pattern[str]) -> dict[str, JsonValue]:
    return {"pattern": regex.pattern}


class AvailabilityItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AvailabilityItemIn] = Field(min_length=1, max_length=500)
    # also say what this cart of the caller's holds of each product (`held`)
    cart_id: str | None = Field(default=None, min_length=1, max_length=64)


class AvailabilityLineOut(BaseModel):
    product_id: str
    requested: int
    available: int
    is_available: bool
    held: int | None = None
    # when the first of the cart's holds on the product ends (none: it holds none)
    held_until: datetime | None = None


class AvailabilityOut(BaseModel):
    all_available: bool
    items: list[AvailabilityLineOut]


class LotOut(BaseModel):
    lot_id: str
    dc: str
    lot: str
    # Left out where a position leaves out what is null (`response_model_exclude_none`).
    expires_on: date | None = None
    status: str
    on_hand: int
    reserved: int


DeaSchedule = Literal["2", "2N", "3", "3N", "4", "5"]
State = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class DcIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # `check_dc` answers `invalid_stock` for a code outside the pattern
    code: str = Field(min_length=1, max_length=32, json_schema_extra=schema_pattern(DC_CODE))
    name: str = Field(min_length=1, max_length=100)
    # its DEA registration's schedules: the controlled products it may hold and ship
    dea_schedules: list[DeaSchedule] = Field(default_factory=list, max_length=6)
    # the states it may ship controlled products to; null: every state
    licensed_states: list[State] | None = Field(default=None, max_length=60)


class DcChangeIn(BaseModel):
    """The fields given change; `licensed_states: null` licenses every state."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    dea_schedules: list[DeaSchedule] | None = Field(default=None, max_length=6)
    licensed_states: list[State] | None = Field(default=None, max_length=60)


class DcRecordOut(BaseModel):
    code: str
    name: str
    created_at: datetime
    dea_schedules: list[str]
    licensed_states: list[str] | None


class Figures(BaseModel):
    """Units on hand, each counted once: on_hand = hard_reserved + blocked + soft_reserved +
    safety_stock + atp."""

    on_hand: int
    hard_reserved: int
    # unreserved units of quarantined and expired lots
    blocked: int
    # what carts hold, and safety stock, of the usable units (never more than there are)
    soft_reserved: int
    safety_stock: int
    # the safety stock set for the DC
    safety_stock_level: int
    atp: int


# Bases that put the name first in the figures that follow it.
class _Dc(BaseModel):
    dc: str


class _Product(BaseModel):
    product_id: str


class DcOut(Figures, _Dc):
    """One distribution centre's figures."""


class PositionOut(Figures, _Product):
    """Each figure is the sum of the DCs' figures."""

    dcs: list[DcOut]
    lots: list[LotOut] | None = None


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    initial_stock: Whole = Field(default=0, ge=0, le=MAX_UNITS)


router = APIRouter(tags=["inventory"])


# before `/api/v1/inventory/{product_id}`, which would take `dcs` for a product id
@router.get("/api/v1/inventory/dcs", response_model=list[DcRecordOut])
async def list_dcs(db: Inventory, _: Operator) -> list[dict[str, Any]]:
    """Operators: the distribution centres stock may be received into."""
    return await service.list_dcs(db)


@router.post(
    "/api/v1/inventory/dcs",
    status_code=201,
    response_model=DcRecordOut,
    responses=refuses(DcExists, InvalidStock),
)
async def create_dc(body: DcIn, db: Inventory, _: Operator) -> dict[str, Any]:
    """Operators: open a distribution centre; receipts and safety stock name only these.
    A B2B order's controlled line is reserved only in a DC registered for its schedule and
    licensed for the ship-to state."""
    return await service.create_dc(
        db, body.code, body.name, list(body.dea_schedules), body.licensed_states
    )


@router.patch(
    "/api/v1/inventory/dcs/{dc}",
    response_model=DcRecordOut,
    responses=refuses(DcNotFound, InvalidStock),
)
async def change_dc(
    dc: Annotated[str, Path(max_length=32)], body: DcChangeIn, db: Inventory, _: Operator
) -> dict[str, Any]:
    """Operators: rename a distribution centre, or change its DEA schedules or the states
    it is licensed for."""
    if "dea_schedules" in body.model_fields_set and body.dea_schedules is None:
        raise InvalidStock("dea_schedules is a list (empty: no controlled substance)")
    return await service.change_dc(
        db,
        dc,
        name=body.name,
        schedules=None if body.dea_schedules is None else list(body.dea_schedules),
        states=body.licensed_states,
        states_named="licensed_states" in body.model_fields_set,
    )


@router.post(
    "/api/v1/products/check-availability",
    response_model=AvailabilityOut,
    response_model_exclude_none=True,
    responses=refuses(ProductNotFound),
)
async def check_availability(body: AvailabilityIn, db: Inventory, request: Request) -> Any:
    """Seed 001: is every line available now? Unknown products answer 404. With a
    `cart_id`, each line also says what the caller's cart holds of it."""
    requested = [(item.product_id, item.quantity) for item in body.items]
    if body.cart_id is None:  # the busy path: no caller needed beyond the gateway's check
        return await service.check_availability(db, requested)
    caller = await principal(request)
    customer = None if caller.is_operator else caller.user_id
    return await service.check_availability(db, requested, cart=body.cart_id, customer=customer)


@router.get("/api/v1/inventory", response_model=list[PositionOut], response_model_exclude_none=True)
async def get_positions(
    db: Inventory,
    caller: Caller,
    product: Annotated[
        list[QueryId], Query(min_length=1, max_length=MAX_BATCH, description="Product ids")
    ],
) -> list[dict[str, Any]]:
    """The positions of the products named (`product`, repeated), as each product's own
    route shows them, in the order asked; a product inventory does not know is left out."""
    return await service.positions(db, product, with_lots=caller.is_operator)


@router.get(
    "/api/v1/inventory/{product_id}",
    response_model=PositionOut,
    response_model_exclude_none=True,
    responses=refuses(ProductNotFound),
)
async def get_position(product_id: str, db: Inventory, caller: Caller) -> dict[str, Any]:
    """ATP per distribution centre; operators also see the lots."""
    return await service.position(db, product_id, with_lots=caller.is_operator)


@router.put(
    "/api/v1/inventory/{product_id}",
    response_model=PositionOut,
    responses=refuses(ProductNotFound),
)
async def add_item(
    product_id: ProductId, body: ItemIn, db: Inventory, _: StockKeeper
) -> dict[str, Any]:
    """Catalog's new product, before catalog answers: known from now on, with its
    initial stock (once: asked again, nothing changes)."""
    await service.add_item(db, product_id, body.sku, body.initial_stock)
    return await service.position(db, product_id)
