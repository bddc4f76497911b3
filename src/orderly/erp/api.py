"""Erp's routes: an order's sales order, for operators."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from orderly.erp import queries
from orderly.erp.queries import SalesOrderNotFound
from orderly.storage import Database
from orderly.web.auth import Operator
from orderly.web.dependencies import database
from orderly.web.refusals import refuses

Erp = Annotated[Database, Depends(database("erp"))]


class SalesOrderOut(BaseModel):
    order_id: str
    sales_order_number: str | None
    status: str
    run: int | None
    reason: str | None
    detail: str | None
    attempts: int
    requested_at: datetime | None
    created_at: datetime | None


router = APIRouter(prefix="/api/v1/erp", tags=["erp"])


@router.get(
    "/sales-orders/{order_id}",
    response_model=SalesOrderOut,
    responses=refuses(SalesOrderNotFound),
)
async def get_sales_order(order_id: str, db: Erp, caller: Operator) -> dict[str, Any]:
    """The order's sales order request and, once the ERP made it, its number (operators)."""
    return await queries.sales_order_of(db, order_id)
