"""Payments REST routes: payment methods (seed 002 Flow 5) and an order's payments (Flow 4)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from orderly.kernel.batch import MAX_BATCH
from orderly.payments import methods, queries
from orderly.payments.domain import TOKEN, InvalidPaymentMethod
from orderly.payments.methods import PaymentMethodNotFound
from orderly.payments.queries import PaymentNotFound
from orderly.storage import Database
from orderly.web.auth import Caller
from orderly.web.dependencies import database
from orderly.web.fields import QueryId
from orderly.web.refusals import refuses

Payments = Annotated[Database, Depends(database("payments"))]


class MethodIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # `check_token`'s rule, stated in the document; it answers `invalid_payment_method`.
    token: str = Field(min_length=5, max_length=64, json_schema_extra={"pattern": TOKEN.pattern})
    label: str = Field(default="", max_length=100)


class MethodOut(BaseModel):
    id: str
    user_id: str  # whose it is: only its owner's orders may be paid with it
    type: str
    label: str
    token_hint: str
    created_at: datetime


class RefundOut(BaseModel):
    refund_id: str
    amount: str
    at: datetime


class PaymentOut(BaseModel):
    payment_id: str
    order_id: str
    amount: str
    currency: str
    status: str
    reason: str | None
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime


router = APIRouter(prefix="/api/v1", tags=["payments"])


@router.post(
    "/payment-methods",
    status_code=201,
    response_model=MethodOut,
    responses=refuses(InvalidPaymentMethod),
)
async def add_method(body: MethodIn, db: Payments, caller: Caller) -> dict[str, Any]:
    return await methods.add_method(db, caller, body.token, body.label)


@router.get("/payment-methods", response_model=list[MethodOut])
async def list_methods(db: Payments, caller: Caller) -> list[dict[str, Any]]:
    return await methods.list_methods(db, caller)


@router.get(
    "/payment-methods/{method_id}",
    response_model=MethodOut,
    responses=refuses(PaymentMethodNotFound),
)
async def get_method(method_id: str, db: Payments, caller: Caller) -> dict[str, Any]:
    return await methods.get_method(db, caller, method_id)


@router.delete(
    "/payment-methods/{method_id}",
    status_code=204,
    responses=refuses(PaymentMethodNotFound),
)
async def delete_method(method_id: str, db: Payments, caller: Caller) -> Response:
    await methods.delete_method(db, caller, method_id)
    return Response(status_code=204)


@router.get(
    "/payments/order/{order_id}",
    response_model=list[PaymentOut],
    responses=refuses(PaymentNotFound),
)
async def payments_of_order(order_id: str, db: Payments, caller: Caller) -> list[dict[str, Any]]:
    return await queries.payments_of_order(db, caller, order_id)


@router.get("/payments", response_model=list[PaymentOut])
async def payments_of_orders(
    db: Payments,
    caller: Caller,
    order_id: Annotated[
        list[QueryId], Query(min_length=1, max_length=MAX_BATCH, description="Order ids")
    ],
) -> list[dict[str, Any]]:
    """The payments of the orders named (`order_id`, repeated), as each order's own route
    shows them, in the order asked; an order you may not see, or without a payment, is left out."""
    return await queries.payments_of_orders(db, caller, order_id)
