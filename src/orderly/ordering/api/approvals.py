"""Approvals (B2B): an account's approvers see the orders waiting for them and decide."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from orderly.ordering import approvals
from orderly.ordering.api.dependencies import Ordering, Rules
from orderly.ordering.api.orders import OrderOut, in_snake_case
from orderly.ordering.approvals import NotAnApprover, NotAwaitingApproval, OwnOrder
from orderly.ordering.buyers import AccountStanding
from orderly.ordering.queries import OrderNotFound
from orderly.web.auth import Caller
from orderly.web.dependencies import runtime
from orderly.web.refusals import refuses


async def standing_port(request: Request) -> AccountStanding | None:
    return (await runtime(request)).standing


Standings = Annotated[AccountStanding | None, Depends(standing_port)]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(default="", max_length=500)


class AwaitingOut(BaseModel):
    order_id: str
    status: str
    channel: str
    total_amount: str | None
    currency: str | None
    placed_by: str
    created_at: Any


router = APIRouter(tags=["ordering"])
DECIDING = refuses(OrderNotFound, NotAnApprover, OwnOrder, NotAwaitingApproval)


@router.get("/api/v1/approvals", response_model=list[AwaitingOut])
async def awaiting_approval(
    db: Ordering, caller: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """The orders of the caller's account waiting for an approver (not those it placed)."""
    return await approvals.awaiting(db, caller, limit)


@router.post(
    "/api/v1/orders/{order_id}/approve",
    response_model=OrderOut,
    response_model_exclude_unset=True,
    responses=DECIDING,
)
async def approve(
    order_id: str,
    db: Ordering,
    caller: Caller,
    rules: Rules,
    standing: Standings,
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """An approver of the order's account approves it: its checkout goes on."""
    note = "" if body is None else body.note
    decided = await approvals.decide(db, standing, rules, caller, order_id, approve=True, note=note)
    return in_snake_case(decided)


@router.post(
    "/api/v1/orders/{order_id}/reject",
    response_model=OrderOut,
    response_model_exclude_unset=True,
    responses=DECIDING,
)
async def reject(
    order_id: str,
    db: Ordering,
    caller: Caller,
    rules: Rules,
    standing: Standings,
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """An approver of the order's account rejects it: its checkout fails."""
    note = "" if body is None else body.note
    decided = await approvals.decide(
        db, standing, rules, caller, order_id, approve=False, note=note
    )
    return in_snake_case(decided)
