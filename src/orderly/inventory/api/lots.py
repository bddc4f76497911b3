"""Goods in and what may be sold of them: receipts into lots, safety stock, an account's minimum
shelf life, a lot's quarantine and release."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from orderly.inventory import service
from orderly.inventory.api.dependencies import AccountId, AccountKeeper, Inventory, StockKeeper
from orderly.inventory.api.stock import MAX_UNITS, LotOut, PositionOut, schema_pattern
from orderly.inventory.domain import DC_CODE, DEFAULT_DC, LOT_NUMBER, InvalidStock, LotStatus
from orderly.inventory.service import (
    AccountNotFound,
    LotExpired,
    LotMismatch,
    LotNotFound,
    ProductNotFound,
    UnknownDc,
)
from orderly.web.auth import Operator
from orderly.web.fields import Whole
from orderly.web.refusals import refuses


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quantity: Whole = Field(ge=1, le=MAX_UNITS)
    # The document states the rules `check_lot` and `check_dc` apply, which answer
    # `invalid_stock` rather than `validation_failed`.
    lot: str = Field(min_length=1, max_length=20, json_schema_extra=schema_pattern(LOT_NUMBER))
    expires_on: date | None = None
    dc: str = Field(
        default=DEFAULT_DC, min_length=1, max_length=32, json_schema_extra=schema_pattern(DC_CODE)
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


router = APIRouter(tags=["inventory"])


@router.post(
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


@router.put(
    "/api/v1/inventory/{product_id}/safety-stock/{dc}",
    response_model=PositionOut,
    responses=refuses(ProductNotFound, InvalidStock, UnknownDc),
)
async def set_safety_stock(
    product_id: str,
    dc: Annotated[str, Path(json_schema_extra=schema_pattern(DC_CODE))],
    body: SafetyStockIn,
    db: Inventory,
    _: StockKeeper,
) -> dict[str, Any]:
    return await service.set_safety_stock(db, product_id, dc, body.units)


@router.put(
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


@router.post(
    "/api/v1/inventory/lots/{lot_id}/quarantine",
    response_model=LotOut,
    responses=refuses(LotNotFound),
)
async def quarantine(lot_id: str, db: Inventory, _: Operator) -> dict[str, Any]:
    return await service.set_lot_status(db, lot_id, LotStatus.QUARANTINED)


@router.post(
    "/api/v1/inventory/lots/{lot_id}/release",
    response_model=LotOut,
    responses=refuses(LotNotFound, LotExpired),
)
async def release_lot(lot_id: str, db: Inventory, _: Operator) -> dict[str, Any]:
    return await service.set_lot_status(db, lot_id, LotStatus.RELEASED)
