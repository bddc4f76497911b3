"""The warehouse floor's routes (operators): waves, picks, packing, backorders, escalations."""

import functools
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from orderly.config import Settings
from orderly.fulfillment import backorders, floor, orchestrator, service, wms_events
from orderly.fulfillment.domain import BackorderNotOpen, BackorderStatus
from orderly.fulfillment.picking import ScanRefused
from orderly.fulfillment.policy import FulfillmentPolicy, policy
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.principal import Principal
from orderly.sagas import engine
from orderly.storage import Database
from orderly.web.auth import Operator, Service, operator_over
from orderly.web.dependencies import database, runtime
from orderly.web.refusals import refuses

Fulfillment = Annotated[Database, Depends(database("fulfillment"))]


@functools.cache
def _rules(settings: Settings) -> FulfillmentPolicy:
    return policy(settings)


async def rules(request: Request) -> FulfillmentPolicy:
    return _rules((await runtime(request)).settings)


Rules = Annotated[FulfillmentPolicy, Depends(rules)]


async def _sees_order(request: Request, caller: Principal) -> None:
    """An order's packing is its owner's business (403) and no one else's (404)."""
    db = (await runtime(request)).databases["fulfillment"]
    await service.get_order_shipment(db, caller, request.path_params["order_id"])


Packer = Annotated[Principal, Depends(operator_over(_sees_order))]
router = APIRouter(tags=["warehouse"])


class ScanIn(BaseModel):
    """A unit's barcode as the scanner sent it (a GS1 element string), or, for a product
    that carries no GTIN, the units counted."""

    model_config = ConfigDict(extra="forbid")

    barcode: str | None = Field(default=None, min_length=1, max_length=200)
    count: int | None = Field(default=None, ge=1, le=100_000)

    @model_validator(mode="after")
    def one_of(self) -> "ScanIn":
        if (self.barcode is None) == (self.count is None):
            raise ValueError("give either barcode or count")
        return self


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    packages: int = Field(default=1, ge=1, le=1000)
    # the distribution centre it was packed in: needed for an order picked in several
    dc: str | None = Field(default=None, min_length=1, max_length=32)


@router.get("/api/v1/waves")
async def list_waves(
    db: Fulfillment,
    _: Operator,
    status: Annotated[Literal["OPEN", "RELEASED"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Waves, newest first: the open ones take orders until released."""
    return await floor.list_waves(db, status, limit)


@router.get("/api/v1/waves/{wave_id}", responses=refuses(floor.WaveNotFound))
async def get_wave(wave_id: str, db: Fulfillment, _: Operator) -> dict[str, Any]:
    """A wave, its orders and, once released, their pick tasks."""
    return await db.read(lambda tx: floor.wave_view(tx, wave_id))


@router.post(
    "/api/v1/waves/{wave_id}/release", responses=refuses(floor.WaveNotFound, floor.WaveNotOpen)
)
async def release_wave(
    wave_id: str, db: Fulfillment, rules: Rules, operator: Operator
) -> dict[str, Any]:
    """Send the wave to the floor: `wave.released`, and its orders' pick tasks are made."""
    return await floor.release_wave(db, rules, wave_id, operator.user_id)


@router.get("/api/v1/pick-tasks")
async def list_pick_tasks(
    db: Fulfillment,
    _: Operator,
    wave_id: Annotated[str | None, Query(max_length=64)] = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """A wave's or an order's pick tasks, in walking order (by location)."""
    return await floor.list_tasks(db, wave_id=wave_id, order_id=order_id)


@router.post(
    "/api/v1/pick-tasks/{task_id}/scan",
    responses=refuses(
        floor.PickTaskNotFound,
        floor.PickTaskClosed,
        floor.CountNeeded,
        floor.ScanNeeded,
        ScanRefused,
        Conflict,
    ),
)
async def scan(
    task_id: str, body: ScanIn, db: Fulfillment, rules: Rules, _: Operator
) -> dict[str, Any]:
    """One unit picked, by its scanned barcode (checked against the task: product, lot,
    expiry, serial number), or units counted for a product without a GTIN."""
    today: date = utcnow().date()
    return await floor.confirm_pick(
        db, rules, task_id, barcode=body.barcode, count=body.count, today=today
    )


@router.post(
    "/api/v1/pick-tasks/{task_id}/short",
    responses=refuses(floor.PickTaskNotFound, floor.PickTaskClosed, Conflict),
)
async def short(task_id: str, db: Fulfillment, rules: Rules, _: Operator) -> dict[str, Any]:
    """The shelf has no more units: the task closes short."""
    return await floor.close_short(db, rules, task_id)


@router.get("/api/v1/pack-tasks")
async def list_pack_tasks(
    db: Fulfillment,
    _: Operator,
    status: Annotated[Literal["OPEN", "PACKED", "CANCELLED"], Query()] = "OPEN",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Orders picked and waiting to be packed (or packed, or cancelled), oldest first."""
    return await floor.list_packs(db, status, limit)


@router.post(
    "/api/v1/pack-tasks/{order_id}/complete",
    responses=refuses(floor.PackNotOpen, floor.PackWhere, service.ShipmentNotFound),
)
async def pack(
    order_id: str, db: Fulfillment, rules: Rules, operator: Packer, body: PackIn | None = None
) -> dict[str, Any]:
    """The order is packed (in `dc`, if it is packed in several distribution centres): once
    packed everywhere, the carrier takes it next."""
    given = body or PackIn()
    return await floor.pack(db, rules, order_id, given.packages, operator.user_id, given.dc)


@router.get(
    "/api/v1/fulfillment/orders/{order_id}",
    responses=refuses(service.ShipmentNotFound, engine.SagaNotFound),
)
async def fulfillment_of(order_id: str, db: Fulfillment, _: Packer) -> dict[str, Any]:
    """An order's fulfillment: each step, its status, attempts, deadline and escalations;
    its shipments (one per distribution centre it ships from); and what its short picks
    left, backordered or cancelled from its lines."""
    saga = await engine.get(db, orchestrator.saga_id(order_id))
    left = await db.read(lambda tx: backorders.of_order(tx, order_id))
    return {**saga, "shipments": await service.order_shipments(db, order_id), **left}


@router.get("/api/v1/backorders")
async def list_backorders(
    db: Fulfillment,
    _: Operator,
    status: Annotated[BackorderStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Units short picks did not find, kept for their orders, oldest first."""
    return await backorders.list_backorders(db, status, limit)


@router.get("/api/v1/backorders/{backorder_id}", responses=refuses(backorders.BackorderNotFound))
async def get_backorder(backorder_id: str, db: Fulfillment, _: Operator) -> dict[str, Any]:
    return await backorders.get_backorder(db, backorder_id)


@router.post(
    "/api/v1/backorders/{backorder_id}/release",
    responses=refuses(
        backorders.BackorderNotFound, BackorderNotOpen, backorders.BackorderOutOfStock
    ),
)
async def release_backorder(
    backorder_id: str, db: Fulfillment, rules: Rules, _: Operator, response: Response
) -> dict[str, Any]:
    """Stock is in: the backorder's units are reserved, and it ships as an order does, under
    its `fulfillment_id` on the floor; 409 `backorder_out_of_stock` (it stays open) if
    inventory has none; 202 if inventory has not answered yet."""
    released, reserved = await backorders.release(db, rules, backorder_id, rules.release_wait)
    if not reserved:
        response.status_code = 202
    return released


@router.post(
    "/api/v1/backorders/{backorder_id}/cancel",
    responses=refuses(backorders.BackorderNotFound, BackorderNotOpen),
)
async def cancel_backorder(backorder_id: str, db: Fulfillment, _: Operator) -> dict[str, Any]:
    """The backorder will not ship (`fulfillment.backorder_cancelled`); 409
    `backorder_not_open` once it is released to the floor, fulfilled or cancelled."""
    return await backorders.cancel(db, backorder_id)


class WmsLotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    gtin: str | None = Field(default=None, max_length=14)
    dc: str | None = Field(default=None, max_length=32)
    lot: str = Field(min_length=1, max_length=20)
    expires_on: str | None = Field(default=None, max_length=10)
    quantity: int = Field(ge=0, le=1_000_000)  # the lot's units the WMS was sent
    serials: list[Annotated[str, Field(max_length=20)]] = Field(default=[], max_length=100_000)
    # units of the lot the WMS did not find: picked are `quantity` less these
    short: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("short")
    @classmethod
    def short_of_what_was_sent(cls, short: int, info: ValidationInfo) -> int:
        quantity = info.data.get("quantity")
        if quantity is not None and short > quantity:
            raise PydanticCustomError(
                "short_exceeds_quantity",
                "{short} units short of the {quantity} the lot was sent",
                {"short": short, "quantity": quantity},
            )
        return short


class WmsEventIn(BaseModel):
    """What an external WMS did with an order (`ORDERLY_WMS_URL`)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=64)
    type: Literal["picked", "packed", "shipped", "delivered"]
    order_id: str = Field(min_length=1, max_length=64)
    lots: list[WmsLotIn] = Field(default=[], max_length=1000)
    packages: int = Field(default=1, ge=1, le=1000)
    carrier: str | None = Field(default=None, min_length=1, max_length=64)
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64)
    delivered_at: AwareDatetime | None = None
    delivery_location: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def complete(self) -> "WmsEventIn":
        if self.type == "picked" and not self.lots:
            raise ValueError("a picked event names its lots")
        if self.type == "shipped" and not (self.carrier and self.tracking_number):
            raise ValueError("a shipped event names its carrier and tracking number")
        if self.type == "delivered" and not self.delivery_location:
            raise ValueError("a delivered event names where it was delivered")
        return self


@router.post(
    "/api/v1/wms/events",
    tags=["warehouse"],
    responses=refuses(service.ShipmentNotFound, NotFound, Conflict),
)
async def wms_event(body: WmsEventIn, db: Fulfillment, rules: Rules, _: Service) -> dict[str, Any]:
    """The external WMS's word on an order (the deployment's own services only: the service
    key). Told again, it changes nothing."""
    event = body.model_dump()
    event["lots"] = [lot.model_dump() for lot in body.lots]
    await wms_events.apply(db, rules, body.type, body.order_id, event)
    return {"event_id": body.event_id, "accepted": True}


@router.get("/api/v1/fulfillment/escalations")
async def escalations(
    db: Fulfillment, _: Operator, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """Orders whose fulfillment waited past its time at some step, newest first."""
    return await floor.escalations(db, limit)
