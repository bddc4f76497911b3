"""Operators' view of ordering's sagas: each checkout's steps, attempts and timings."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from orderly.kernel.principal import Principal
from orderly.ordering import queries
from orderly.ordering.api.dependencies import Ordering
from orderly.ordering.queries import OrderNotFound
from orderly.sagas import engine
from orderly.sagas.engine import SagaNotFound, SagaState
from orderly.web.auth import Operator, operator_over
from orderly.web.dependencies import runtime
from orderly.web.refusals import refuses


class SagaStepOut(BaseModel):
    name: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    deadline_at: datetime | None
    detail: dict[str, Any]


class SagaOut(BaseModel):
    saga_id: str
    kind: str
    state: str
    reason: str | None
    data: dict[str, Any]
    steps: list[SagaStepOut]


class SagaSummary(BaseModel):
    id: str
    kind: str
    state: str
    step: int
    reason: str | None
    created_at: datetime
    updated_at: datetime


async def _sees_saga(request: Request, caller: Principal) -> None:
    """A checkout saga is its order's (the same id): seen by whoever sees the order."""
    db = (await runtime(request)).databases["ordering"]
    saga_id = request.path_params["saga_id"]
    await engine.get(db, saga_id)
    try:
        await queries.get_order(db, caller, saga_id)
    except OrderNotFound:
        raise SagaNotFound(f"saga {saga_id} does not exist") from None


# Operators only: a customer is told 403 for its own order's saga, 404 for anyone else's.
SagaKeeper = Annotated[Principal, Depends(operator_over(_sees_saga))]

router = APIRouter(prefix="/api/v1/sagas", tags=["ordering"])


@router.get("", response_model=list[SagaSummary])
async def list_sagas(
    db: Ordering,
    operator: Operator,
    state: SagaState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Any]:
    """Operators: sagas, newest first, optionally in one state."""
    return await engine.find(db, state or "", limit)


@router.get("/{saga_id}", response_model=SagaOut, responses=refuses(SagaNotFound))
async def get_saga(saga_id: str, db: Ordering, operator: SagaKeeper) -> dict[str, Any]:
    """Operators: one saga with each step, its attempts and timings."""
    return await engine.get(db, saga_id)
