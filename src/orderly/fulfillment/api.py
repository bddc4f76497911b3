"""Fulfillment REST routes: seed 001's delivery API."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from orderly.fulfillment import floor_api, service
from orderly.fulfillment.domain import InvalidTransition, ShipmentStatus
from orderly.fulfillment.floor_api import Rules
from orderly.fulfillment.service import ShipmentInFulfillment, ShipmentNotFound
from orderly.kernel.batch import MAX_BATCH
from orderly.kernel.errors import Conflict
from orderly.kernel.principal import Principal
from orderly.storage import Database
from orderly.web.auth import Caller, operator_over
from orderly.web.dependencies import database, runtime
from orderly.web.fields import NOT_BLANK, QueryId
from orderly.web.refusals import refuses

Fulfillment = Annotated[Database, Depends(database("fulfillment"))]


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tracking_number: str = Field(min_length=1, pattern=NOT_BLANK, max_length=64)
    carrier: str = Field(min_length=1, pattern=NOT_BLANK, max_length=64)


class DeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    delivered_at: AwareDatetime | None = None
    delivery_location: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)


class ShipmentOut(BaseModel):
    id: str
    order_id: str
    # an order whose lines ship from several distribution centres ships a part from each
    part: int = 0
    dc: str | None = None
    # a part that ships a released backorder of the order
    backorder_id: str | None = None
    status: str
    items: list[dict[str, Any]]
    shipping_address: dict[str, Any]
    tracking_number: str | None
    carrier: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    delivery_location: str | None
    created_at: datetime
    updated_at: datetime


async def _sees_shipment(request: Request, caller: Principal) -> None:
    db = (await runtime(request)).databases["fulfillment"]
    await service.get_shipment(db, caller, request.path_params["shipment_id"])


# Operators only: a customer is told 403 for its own shipment, 404 for anyone else's.
Carrier = Annotated[Principal, Depends(operator_over(_sees_shipment))]
_CARRIER_REFUSALS = refuses(ShipmentNotFound, InvalidTransition, ShipmentInFulfillment, Conflict)


shipments = APIRouter(prefix="/api/v1/shipments", tags=["fulfillment"])


@shipments.get("", response_model=list[ShipmentOut])
async def find_shipments(
    db: Fulfillment,
    caller: Caller,
    order_id: Annotated[list[QueryId] | None, Query(max_length=MAX_BATCH)] = None,
    status: Annotated[list[ShipmentStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The caller's shipments, newest first; or every shipment of the orders named
    (`order_id`, repeated), in the order asked, an order you may not see left out. Several
    `status` values match any of them."""
    statuses = frozenset(status or ())
    return await service.find_shipments(db, caller, order_id or (), limit, statuses)


@shipments.get("/{shipment_id}", response_model=ShipmentOut, responses=refuses(ShipmentNotFound))
async def get_shipment(shipment_id: str, db: Fulfillment, caller: Caller) -> dict[str, Any]:
    return await service.get_shipment(db, caller, shipment_id)


@shipments.post("/{shipment_id}/ship", response_model=ShipmentOut, responses=_CARRIER_REFUSALS)
async def ship(shipment_id: str, body: ShipIn, db: Fulfillment, _: Carrier) -> dict[str, Any]:
    return await service.ship(db, shipment_id, body.tracking_number, body.carrier)


@shipments.post("/{shipment_id}/deliver", response_model=ShipmentOut, responses=_CARRIER_REFUSALS)
async def deliver(
    shipment_id: str, body: DeliverIn, db: Fulfillment, rules: Rules, _: Carrier
) -> dict[str, Any]:
    return await service.deliver(db, rules, shipment_id, body.delivered_at, body.delivery_location)


router = APIRouter()
router.include_router(shipments)
router.include_router(floor_api.router)
