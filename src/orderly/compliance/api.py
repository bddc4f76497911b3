"""Compliance's routes, operators' only: held orders and their release or report, the
decisions' audit trail, SOM settings and baseline, and what compliance knows of products."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from orderly.compliance import copies, holds, legal, monitoring
from orderly.compliance.holds import HoldAlreadyDecided, HoldNotFound
from orderly.compliance.legal import HoldNamesNothing, LegalHoldLifted, LegalHoldNotFound
from orderly.compliance.som import SomSettings
from orderly.storage import Database
from orderly.web import wire
from orderly.web.auth import Operator
from orderly.web.dependencies import database
from orderly.web.fields import NOT_BLANK, Whole
from orderly.web.refusals import refuses

Compliance = Annotated[Database, Depends(database("compliance"))]
AccountId = Annotated[str, Path(max_length=36)]
ProductId = Annotated[str, Path(max_length=36)]
Family = Annotated[str, Field(min_length=1, max_length=64, pattern=NOT_BLANK)]
Factor = Annotated[Decimal, Field(gt=0, le=1000, decimal_places=2)]
HoldStatus = Literal["open", "released", "reported", "voided"]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(min_length=1, max_length=4000, pattern=NOT_BLANK)


class HoldOut(BaseModel):
    id: str
    order_id: str
    run: int
    account_id: str
    decision_id: str
    rule: str
    detail: str
    status: str
    som: dict[str, Any]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


class DecisionOut(BaseModel):
    id: str
    order_id: str
    run: int
    account_id: str | None
    decision: str
    rule: str | None
    reason: str | None
    detail: str | None
    inputs: dict[str, Any]
    actor: str
    at: datetime
    voided_at: datetime | None
    void_reason: str | None


class SomSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    family: Family | None = None
    size_factor: Factor = Decimal(3)
    frequency_factor: Factor = Decimal(2)
    first_order: bool = True


class BaselineMonthIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    family: Family
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    units: Whole = Field(ge=0, le=10**12)
    orders: Whole = Field(ge=0, le=10**6)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    serialized: bool
    family: Family
    units_per_package: Whole = Field(ge=1, le=10**6)


class ProductOut(BaseModel):
    product_id: str
    name: str
    dea_schedule: str | None
    family: str
    units_per_package: int
    serialized: bool


class LegalHoldIn(BaseModel):
    """An order, an account, or both, kept from retention while an investigation, a dispute
    or a litigation is open."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=NOT_BLANK)
    account_id: str | None = Field(default=None, min_length=1, max_length=36, pattern=NOT_BLANK)
    kind: Literal["investigation", "dispute", "litigation"]
    reason: str = Field(min_length=1, max_length=4000, pattern=NOT_BLANK)


class LegalHoldOut(BaseModel):
    id: str
    order_id: str | None
    account_id: str | None
    kind: str
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


router = APIRouter(tags=["compliance"])


@router.post(
    "/api/v1/compliance/legal-holds",
    response_model=LegalHoldOut,
    status_code=201,
    responses=refuses(HoldNamesNothing),
)
async def place_legal_hold(body: LegalHoldIn, db: Compliance, caller: Operator) -> dict[str, Any]:
    """Keep the order's (or every order of the account's) records from retention until the
    hold is lifted."""
    return await legal.place(db, caller, body.order_id, body.account_id, body.kind, body.reason)


@router.get("/api/v1/compliance/legal-holds", response_model=list[LegalHoldOut])
async def list_legal_holds(
    db: Compliance, _: Operator, in_force: Annotated[bool, Query()] = True
) -> list[dict[str, Any]]:
    """Legal holds, oldest first: those in force, or (`in_force=false`) every one."""
    return [dict(hold) for hold in await legal.listed(db, in_force)]


@router.post(
    "/api/v1/compliance/legal-holds/{hold_id}/lift",
    response_model=LegalHoldOut,
    responses=refuses(LegalHoldNotFound, LegalHoldLifted),
)
async def lift_legal_hold(hold_id: str, db: Compliance, caller: Operator) -> dict[str, Any]:
    """The investigation or dispute is over: retention may remove the records in their time."""
    return dict(await legal.lift(db, caller, hold_id))


@router.get("/api/v1/compliance/holds", response_model=list[HoldOut])
async def list_holds(
    db: Compliance, _: Operator, status: Annotated[HoldStatus | None, Query()] = None
) -> list[dict[str, Any]]:
    """Held orders, oldest first (`?status=open`: those waiting for an analyst)."""
    return [wire.snake(hold) for hold in await holds.list_holds(db, status)]


@router.get(
    "/api/v1/compliance/holds/{hold_id}", response_model=HoldOut, responses=refuses(HoldNotFound)
)
async def get_hold(hold_id: str, db: Compliance, _: Operator) -> dict[str, Any]:
    return wire.snake(await holds.get_hold(db, hold_id))  # type: ignore[no-any-return]


@router.post(
    "/api/v1/compliance/holds/{hold_id}/release",
    response_model=HoldOut,
    responses=refuses(HoldNotFound, HoldAlreadyDecided),
)
async def release_hold(
    hold_id: str, body: NoteIn, db: Compliance, caller: Operator
) -> dict[str, Any]:
    """Diligence dispelled the suspicion (the note says how): the order goes on."""
    released = await holds.release_hold(db, hold_id, caller.user_id, body.note)
    return wire.snake(released)  # type: ignore[no-any-return]


@router.post(
    "/api/v1/compliance/holds/{hold_id}/report",
    response_model=HoldOut,
    responses=refuses(HoldNotFound, HoldAlreadyDecided),
)
async def report_hold(
    hold_id: str, body: NoteIn, db: Compliance, caller: Operator
) -> dict[str, Any]:
    """Reported as a suspicious order: the order is cancelled, never shipped."""
    reported = await holds.report_hold(db, hold_id, caller.user_id, body.note)
    return wire.snake(reported)  # type: ignore[no-any-return]


@router.get("/api/v1/compliance/decisions", response_model=list[DecisionOut])
async def decisions(
    db: Compliance, _: Operator, order_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> list[dict[str, Any]]:
    """An order's decisions, every run's, voided ones too: the audit trail."""
    return [wire.snake(d) for d in await holds.order_decisions(db, order_id)]


@router.put("/api/v1/compliance/som/{account_id}", status_code=204)
async def set_som(
    account_id: AccountId, body: SomSettingsIn, db: Compliance, _: Operator
) -> Response:
    """An account's SOM settings for a drug family, or (no family) for all of them."""
    settings = SomSettings(body.size_factor, body.frequency_factor, body.first_order)
    await monitoring.set_settings(db, account_id, body.family, settings)
    return Response(status_code=204)


@router.put("/api/v1/compliance/som/{account_id}/history", status_code=204)
async def import_history(
    account_id: AccountId,
    body: Annotated[list[BaselineMonthIn], Field(max_length=10_000)],
    db: Compliance,
    _: Operator,
) -> Response:
    """Prior months' dosage units and order counts per family, as the baseline SOM compares
    orders with (each month given replaces that month's)."""
    months = [monitoring.BaselineMonth(m.family, m.month, m.units, m.orders) for m in body]
    await monitoring.import_baseline(db, account_id, months)
    return Response(status_code=204)


@router.get(
    "/api/v1/compliance/products/{product_id}",
    response_model=ProductOut,
    responses=refuses(copies.ProductNotKnown),
)
async def product(product_id: ProductId, db: Compliance, _: Operator) -> dict[str, Any]:
    """What compliance knows of a product (copied from catalog, and as operators set it)."""
    return wire.snake(await copies.find_product(db, product_id))  # type: ignore[no-any-return]


@router.put("/api/v1/compliance/products/{product_id}", response_model=ProductOut)
async def configure_product(
    product_id: ProductId, body: ProductIn, db: Compliance, _: Operator
) -> dict[str, Any]:
    settings = copies.ProductSettings(body.serialized, body.family, body.units_per_package)
    return wire.snake(await copies.configure_product(db, product_id, settings))  # type: ignore[no-any-return]
