"""Operator routes: dead letters, the outbox, and fault switches for drills."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from orderly.bootstrap import Runtime
from orderly.kernel.errors import NotFound
from orderly.kernel.faults import Switches
from orderly.messaging import deadletters
from orderly.messaging.relay import outbox_status
from orderly.web.dependencies import CurrentRuntime
from orderly.web.refusals import refuses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/dead-letters")
async def list_dead_letters(
    run: CurrentRuntime, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for db in run.databases.values():
        found.extend(await deadletters.list_dead_letters(db, limit))
    found.sort(key=lambda letter: letter["failed_at"], reverse=True)
    return found[:limit]


@router.get("/dead-letters/{dead_letter_id}", responses=refuses(deadletters.DeadLetterNotFound))
async def show_dead_letter(dead_letter_id: str, run: CurrentRuntime) -> dict[str, Any]:
    for db in run.databases.values():
        letter = await deadletters.find_dead_letter(db, dead_letter_id)
        if letter is not None:
            return letter
    raise deadletters.DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    responses=refuses(deadletters.DeadLetterNotFound, deadletters.AlreadyReplayed),
)
async def replay_dead_letter(dead_letter_id: str, run: CurrentRuntime) -> dict[str, Any]:
    for db in run.databases.values():
        if await deadletters.find_dead_letter(db, dead_letter_id) is not None:
            replayed = await deadletters.replay_dead_letter(db, dead_letter_id)
            run.wake_retries()
            return replayed
    raise deadletters.DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")


@router.get("/outbox")
async def outbox(run: CurrentRuntime) -> list[dict[str, Any]]:
    return [await outbox_status(db) for db in run.databases.values()]


# The contexts a process may be told to find unreachable: those it calls behind a breaker.
Switchable = Literal["inventory"]


class FaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unreachable: list[Switchable] = Field(max_length=1)


class FaultsOut(BaseModel):
    unreachable: list[str]


class FaultSwitchesOff(NotFound):
    code = "fault_switches_off"
    title = "This deployment has no fault switches"


def _switches(run: Runtime) -> Switches:
    if run.switches is None:
        raise FaultSwitchesOff("set ORDERLY_FAULT_SWITCHES=true to drill with them")
    return run.switches


@router.get("/faults", response_model=FaultsOut, responses=refuses(FaultSwitchesOff))
async def faults(run: CurrentRuntime) -> dict[str, Any]:
    """What this process takes as unreachable now (a drill's fault switches)."""
    return {"unreachable": sorted(_switches(run).unreachable)}


@router.put("/faults", response_model=FaultsOut, responses=refuses(FaultSwitchesOff))
async def switch_faults(body: FaultsIn, run: CurrentRuntime) -> dict[str, Any]:
    """Make the contexts named unreachable from this process, and every other reachable
    again: its calls to them fail as they would with them down (`ORDERLY_FAULT_SWITCHES`)."""
    switches = _switches(run)
    switches.unreachable = frozenset(body.unreachable)
    return {"unreachable": sorted(switches.unreachable)}
