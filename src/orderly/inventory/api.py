"""Inventory REST routes: seed 001's availability check, stock positions, receipts, lots."""

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from orderly.entrypoints.auth import Caller, Operator
from orderly.entrypoints.dependencies import database
from orderly.entrypoints.fields import Whole
from orderly.entrypoints.openapi import refuses
from orderly.inventory import service
from orderly.inventory.domain import DC_CODE, DEFAULT_DC, LOT_NUMBER, InvalidStock, LotStatus
from orderly.inventory.service import LotMismatch, LotNotFound, ProductNotFound
from orderly.storage import Database

Inventory = Annotated[Database, Depends(database("inventory"))]

MAX_UNITS = 1_000_000_000


def _pattern(regex: re.Pattern[str]) -> dict[str, JsonValue]:
    return {"pattern": regex.pattern}


class AvailabilityItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AvailabilityItemIn] = Field(min_length=1, max_length=500)


class AvailabilityLineOut(BaseModel):
    product_id: str
    requested: int
    available: int
    is_available: bool


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


class DcOut(BaseModel):
    dc: str
    on_hand: int
    hard_reserved: int
    soft_reserved: int
    blocked: int
    safety_stock: int
    atp: int


class PositionOut(BaseModel):
    product_id: str
    atp: int
    dcs: list[DcOut]
    lots: list[LotOut] | None = None


def router() -> APIRouter:
    api = APIRouter(tags=["inventory"])

    @api.post(
        "/api/v1/products/check-availability",
        response_model=AvailabilityOut,
        responses=refuses(ProductNotFound),
    )
    async def check_availability(body: AvailabilityIn, db: Inventory) -> Any:
        """Seed 001: is every line available now? Unknown products answer 404."""
        return await service.check_availability(
            db, [(item.product_id, item.quantity) for item in body.items]
        )

    @api.get(
        "/api/v1/inventory/{product_id}",
        response_model=PositionOut,
        response_model_exclude_none=True,
        responses=refuses(ProductNotFound),
    )
    async def get_position(product_id: str, db: Inventory, caller: Caller) -> dict[str, Any]:
        """ATP per distribution centre; operators also see the lots."""
        return await service.position(db, product_id, with_lots=caller.is_operator)

    @api.post(
        "/api/v1/inventory/{product_id}/receipts",
        status_code=201,
        response_model=LotOut,
        responses=refuses(ProductNotFound, LotMismatch, InvalidStock),
    )
    async def receive(
        product_id: str, body: ReceiptIn, db: Inventory, _: Operator
    ) -> dict[str, Any]:
        receipt = service.Receipt(product_id, body.quantity, body.lot, body.expires_on, body.dc)
        return await service.receive(db, receipt)

    @api.put(
        "/api/v1/inventory/{product_id}/safety-stock/{dc}",
        response_model=PositionOut,
        responses=refuses(ProductNotFound, InvalidStock),
    )
    async def set_safety_stock(
        product_id: str,
        dc: Annotated[str, Path(json_schema_extra=_pattern(DC_CODE))],
        body: SafetyStockIn,
        db: Inventory,
        _: Operator,
    ) -> dict[str, Any]:
        return await service.set_safety_stock(db, product_id, dc, body.units)

    @api.put("/api/v1/inventory/shelf-life/{account_id}", response_model=ShelfLifeOut)
    async def set_shelf_life(
        account_id: str, body: ShelfLifeIn, db: Inventory, _: Operator
    ) -> dict[str, Any]:
        """An account's minimum shelf life: its orders get no lot expiring sooner."""
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
        responses=refuses(LotNotFound),
    )
    async def release_lot(lot_id: str, db: Inventory, _: Operator) -> dict[str, Any]:
        return await service.set_lot_status(db, lot_id, LotStatus.RELEASED)

    return api
