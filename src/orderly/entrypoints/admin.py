"""Operator routes: dead letters and the outbox."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
