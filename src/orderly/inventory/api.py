"""Inventory REST routes: seed 001's availability check, stock positions, receipts, lots."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from orderly.entrypoints.auth import (
    Caller,
    Operator,
    Service,
    operator_over,
    own_account,
    principal,
)
from orderly.entrypoints.dependencies import database, runtime
from orderly.entrypoints.fields import Whole
from orderly.entrypoints.openapi import refuses
from orderly.inventory import provisional, service
from orderly.inventory.domain import DC_CODE, DEFAULT_DC, LOT_NUMBER, InvalidStock, LotStatus
from orderly.inventory.policy import policy
from orderly.inventory.service import (
    AccountNotFound,
    DcExists,
    LotExpired,
    LotMismatch,
    LotNotFound,
    ProductNotFound,
    UnknownDc,
)
from orderly.kernel.errors import NotFound
from orderly.kernel.principal import Principal
from orderly.storage import Database

Inventory = Annotated[Database, Depends(database("inventory"))]

MAX_UNITS = 1_000_000_000
# Kept as the setting's key, in the 36 characters an account id has.
AccountId = Annotated[str, Path(max_length=36)]
ProductId = Annotated[str, Path(max_length=36)]


async def _sees_product(request: Request, caller: Principal) -> None:
    db = (await runtime(request)).databases["inventory"]
    await service.position(db, request.path_params["product_id"], with_lots=False)


async def _sees_hold(request: Request, caller: Principal) -> None:
    """A cart's hold is seen by the cart's customer (or account), in its cart."""
    db = (await runtime(request)).databases["inventory"]
    cart_id = request.path_params["cart_id"]
    for held in await service.holds(db, request.path_params["product_id"]):
        if held["cart_id"] == cart_id and caller.may_see(held["customer_id"], held["account_id"]):
            return
    raise service.HoldNotFound(f"cart {cart_id} holds none of this product")


# Operators only. Everyone sees a product's stock, a customer its own cart's hold and a
# member its account: they are told 403; to anyone else the thing does not exist.
StockKeeper = Annotated[Principal, Depends(operator_over(_sees_product))]
HoldKeeper = Annotated[Principal, Depends(operator_over(_sees_hold))]
AccountKeeper = Annotated[Principal, Depends(operator_over(own_account("account_id")))]


def _pattern(regex: re.Pattern[str]) -> dict[str, JsonValue]:
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


class AvailabilityOut(BaseModel):
    all_available: bool
    items: list[AvailabilityLineOut]


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quantity: Whole = Field(ge=1, le=MAX_UNITS)
    # The document states the rules `check_lot` and `check_dc` apply, which answer
    # `invalid_stock` rather than `validation_failed`.
    lot: str = Field(min_length=1, max_length=20, json_schema_extra=_pattern(LOT_NUMBER))
    expires_on: date | None = None
    dc: str = Field(
        default=DEFAULT_DC, min_length=1, max_length=32, json_schema_extra=_pattern(DC_CODE)
    )


class SafetyStockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: Whole = Field(ge=0, le=MAX_UNITS)


class ShelfLifeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: Whole = Field(ge=0, le=3650)


class ShelfLifeOut(BaseModel):
    account_id: str
    days: int


class LotOut(BaseModel):
    lot_id: str
    dc: str
    lot: str
    # Left out where a position leaves out what is null (`response_model_exclude_none`).
    expires_on: date | None = None
    status: str
    on_hand: int
    reserved: int


class DcIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # `check_dc` answers `invalid_stock` for a code outside the pattern
    code: str = Field(min_length=1, max_length=32, json_schema_extra=_pattern(DC_CODE))
    name: str = Field(min_length=1, max_length=100)


class DcRecordOut(BaseModel):
    code: str
    name: str
    created_at: datetime


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


class HoldOut(BaseModel):
    cart_id: str
    customer_id: str | None
    account_id: str | None
    dc: str
    quantity: int
    first_held_at: datetime
    expires_at: datetime


class PositionOut(Figures, _Product):
    """Each figure is the sum of the DCs' figures."""

    dcs: list[DcOut]
    lots: list[LotOut] | None = None


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    initial_stock: Whole = Field(default=0, ge=0, le=MAX_UNITS)


class OrderHoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    items: list[AvailabilityItemIn] = Field(min_length=1, max_length=500)
    # the caller's cart, whose soft holds this order's hold takes over
    cart_id: str | None = Field(default=None, min_length=1, max_length=64)


class HeldLineOut(BaseModel):
    product_id: str
    quantity: int
    dc: str


class OrderHoldOut(BaseModel):
    order_id: str
    items: list[HeldLineOut]


def router() -> APIRouter:
    api = APIRouter(tags=["inventory"])

    # before `/api/v1/inventory/{product_id}`, which would take `dcs` for a product id
    @api.get("/api/v1/inventory/dcs", response_model=list[DcRecordOut])
    async def list_dcs(db: Inventory, _: Operator) -> list[dict[str, Any]]:
        """Operators: the distribution centres stock may be received into."""
        return await service.list_dcs(db)

    @api.post(
        "/api/v1/inventory/dcs",
        status_code=201,
        response_model=DcRecordOut,
        responses=refuses(DcExists, InvalidStock),
    )
    async def create_dc(body: DcIn, db: Inventory, _: Operator) -> dict[str, Any]:
        """Operators: open a distribution centre; receipts and safety stock name only these."""
        return await service.create_dc(db, body.code, body.name)

    @api.post(
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

    @api.get(
        "/api/v1/inventory/{product_id}",
        response_model=PositionOut,
        response_model_exclude_none=True,
        responses=refuses(ProductNotFound),
    )
    async def get_position(product_id: str, db: Inventory, caller: Caller) -> dict[str, Any]:
        """ATP per distribution centre; operators also see the lots."""
        return await service.position(db, product_id, with_lots=caller.is_operator)

    @api.put(
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

    @api.get(
        "/api/v1/inventory/{product_id}/holds",
        response_model=list[HoldOut],
        responses=refuses(ProductNotFound),
    )
    async def list_holds(product_id: str, db: Inventory, _: StockKeeper) -> list[dict[str, Any]]:
        """Operators: the carts holding the product now, their customers, and until when."""
        return await service.holds(db, product_id)

    @api.delete(
        "/api/v1/inventory/{product_id}/holds/{cart_id}",
        status_code=204,
        responses=refuses(service.HoldNotFound, ProductNotFound),
    )
    async def release_hold(product_id: str, cart_id: str, db: Inventory, _: HoldKeeper) -> Response:
        """Operators: let one cart's hold on the product go."""
        await service.release_hold(db, product_id, cart_id)
        return Response(status_code=204)

    @api.post(
        "/api/v1/inventory/{product_id}/receipts",
        status_code=201,
        response_model=LotOut,
        responses=refuses(ProductNotFound, LotMismatch, InvalidStock, UnknownDc),
    )
    async def receive(
        product_id: str, body: ReceiptIn, db: Inventory, _: StockKeeper
    ) -> dict[str, Any]:
        """Goods in, to a lot in a known DC; a lot past its expiry is received `expired`
        (blocked)."""
        receipt = service.Receipt(product_id, body.quantity, body.lot, body.expires_on, body.dc)
        return await service.receive(db, receipt)

    @api.put(
        "/api/v1/inventory/{product_id}/safety-stock/{dc}",
        response_model=PositionOut,
        responses=refuses(ProductNotFound, InvalidStock, UnknownDc),
    )
    async def set_safety_stock(
        product_id: str,
        dc: Annotated[str, Path(json_schema_extra=_pattern(DC_CODE))],
        body: SafetyStockIn,
        db: Inventory,
        _: StockKeeper,
    ) -> dict[str, Any]:
        return await service.set_safety_stock(db, product_id, dc, body.units)

    @api.put(
        "/api/v1/inventory/shelf-life/{account_id}",
        response_model=ShelfLifeOut,
        responses=refuses(AccountNotFound),
    )
    async def set_shelf_life(
        account_id: AccountId, body: ShelfLifeIn, db: Inventory, _: AccountKeeper
    ) -> dict[str, Any]:
        """An account's minimum shelf life: its orders get no lot expiring sooner. An
        account identity has not opened: 404."""
        return await service.set_shelf_life(db, account_id, body.days)

    @api.post(
        "/api/v1/inventory/lots/{lot_id}/quarantine",
        response_model=LotOut,
        responses=refuses(LotNotFound),
    )
    async def quarantine(lot_id: str, db: Inventory, _: Operator) -> dict[str, Any]:
        return await service.set_lot_status(db, lot_id, LotStatus.QUARANTINED)

    @api.post(
        "/api/v1/inventory/lots/{lot_id}/release",
        response_model=LotOut,
        responses=refuses(LotNotFound, LotExpired),
    )
    async def release_lot(lot_id: str, db: Inventory, _: Operator) -> dict[str, Any]:
        return await service.set_lot_status(db, lot_id, LotStatus.RELEASED)

    @api.post(
        "/api/v1/inventory/reservations",
        status_code=201,
        response_model=OrderHoldOut,
        responses=refuses(provisional.Short, ProductNotFound, NotFound),
    )
    async def hold(
        body: OrderHoldIn, db: Inventory, caller: Caller, _: Service, request: Request
    ) -> dict[str, Any]:
        """Ordering, for the caller, before it writes a direct order: hold its stock. The
        hold runs out unless the order's `order.created` confirms it. Short: 409. Services
        of the deployment only (`ORDERLY_SERVICE_KEY`)."""
        requested = [(item.product_id, item.quantity) for item in body.items]
        outcome = await provisional.hold(
            db,
            body.order_id,
            requested,
            account=caller.account,
            customer=caller.user_id,
            ttl=policy((await runtime(request)).settings).hold_ttl,
            cart_id=body.cart_id or "",
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

    @api.delete(
        "/api/v1/inventory/reservations/{order_id}",
        status_code=204,
        responses=refuses(provisional.HoldConfirmed, NotFound),
    )
    async def let_go(order_id: str, db: Inventory, _: Caller, __: Service) -> None:
        """Ordering: give back the hold of an order it did not write; a written order's:
        409. Services of the deployment only."""
        await provisional.let_go(db, order_id)

    return api
