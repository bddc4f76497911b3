"""The saga engine: a durable process manager advanced only by messages.

A saga is declared as steps. Each step sends a command (a message through the outbox) and
waits for one of the events that mean it succeeded or failed; it may name a compensation
(a command that undoes it) and the events that say the undoing is done, a timeout and how
many times the command is sent again when the timeout passes. The saga's state and each
step's attempts and timings are rows in the owning database, changed only in the
transaction of the message that moves them (through the inbox), so a crash at any point
resumes where it stopped and a repeated message changes nothing.

When a step fails (or times out for the last time) the steps that succeeded are
compensated in reverse order; a saga that completes or is compensated calls its
definition's hooks in the same transaction.

    running ──> completed
       └──> compensating ──> compensated
                   └──> stuck            (a compensation that never answered: for operators)
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog

from orderly.kernel.casing import snake
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.messaging import Envelope, Message, emit, new_message
from orderly.sagas import store
from orderly.storage import Database, Row, Tx

log = structlog.get_logger(__name__)

_OVERDUE_BATCH = 200


class SagaState(StrEnum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    STUCK = "stuck"


class StepStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"


@dataclass(frozen=True)
class Step:
    name: str
    command: str
    succeeded: tuple[str, ...]
    failed: tuple[str, ...] = ()
    compensation: str | None = None
    compensated: tuple[str, ...] = ()
    timeout: float = 30.0
    retries: int = 3


Hook = Callable[[Tx, "Saga"], Awaitable[None]]


@dataclass(frozen=True)
class Definition:
    kind: str
    source: str  # the publishing context's source name for the commands it sends
    steps: tuple[Step, ...]
    # a step's command, or its compensation (`undo`), from the saga's data
    command_data: Callable[["Saga", Step, bool], Message]
    on_completed: Hook
    on_compensated: Hook

    def replies(self) -> tuple[str, ...]:
        kinds = {t for s in self.steps for t in (*s.succeeded, *s.failed, *s.compensated)}
        return tuple(sorted(kinds))


@dataclass
class Saga:
    id: str
    kind: str
    state: SagaState
    step: int
    data: dict[str, Any]
    reason: str | None
    version: int
    steps: list[dict[str, Any]] = field(default_factory=list)


class SagaNotFound(NotFound):
    code = "saga_not_found"
    title = "Saga not found"


async def start(
    tx: Tx,
    definition: Definition,
    saga_id: str,
    data: dict[str, Any],
    done: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> None:
    """Start a saga in the caller's transaction. `done` records steps the caller already
    took itself (a local check), shown before the declared ones."""
    now = utcnow()
    await tx.execute(
        store.INSERT_SAGA, {"id": saga_id, "kind": definition.kind, "data": data, "at": now}
    )
    local = [(name, StepStatus.SUCCEEDED, detail) for name, detail in done]
    declared: list[tuple[str, StepStatus, dict[str, Any]]] = [
        (s.name, StepStatus.PENDING, {}) for s in definition.steps
    ]
    for no, (name, status, detail) in enumerate([*local, *declared]):
        finished = now if status is StepStatus.SUCCEEDED else None
        await tx.execute(
            store.INSERT_STEP,
            {
                "saga_id": saga_id,
                "step_no": no - len(local),
                "name": name,
                "status": status.value,
                "attempts": 1 if finished else 0,
                "started_at": finished,
                "finished_at": finished,
                "deadline_at": None,
                "detail": detail,
            },
        )
    saga = await _load(tx, saga_id)
    assert saga is not None
    await _begin(tx, definition, saga, 0, now)


async def _load(tx: Tx, saga_id: str) -> Saga | None:
    row = await tx.fetch_one(store.GET_SAGA, {"id": saga_id})
    if row is None:
        return None
    steps = await tx.fetch_all(store.STEPS, {"saga_id": saga_id})
    return Saga(
        id=row["id"],
        kind=row["kind"],
        state=SagaState(row["state"]),
        step=int(row["step"]),
        data=row["data"],
        reason=row["reason"],
        version=int(row["version"]),
        steps=[dict(s) for s in steps],
    )


def _step_row(saga: Saga, no: int) -> dict[str, Any]:
    return next(s for s in saga.steps if s["step_no"] == no)


async def _save(tx: Tx, saga: Saga, state: SagaState, step: int, now: datetime) -> None:
    changed = await tx.execute(
        store.UPDATE_SAGA,
        {
            "id": saga.id,
            "state": state.value,
            "step": step,
            "reason": saga.reason,
            "at": now,
            "version": saga.version,
        },
    )
    if not changed:  # another message moved it first: this one is tried again
        raise RuntimeError(f"saga {saga.id} changed concurrently; retrying")
    saga.state, saga.step, saga.version = state, step, saga.version + 1


async def _set_step(tx: Tx, saga: Saga, no: int, **changes: Any) -> None:
    row = {**_step_row(saga, no), **changes}
    await tx.execute(store.UPDATE_STEP, {**row, "saga_id": saga.id})
    row_index = next(i for i, s in enumerate(saga.steps) if s["step_no"] == no)
    saga.steps[row_index] = row


async def _finish_step(
    tx: Tx, saga: Saga, status: StepStatus, now: datetime, **changes: Any
) -> None:
    """The current step got the answer it waited for: no deadline any more."""
    await _set_step(
        tx, saga, saga.step, status=status.value, finished_at=now, deadline_at=None, **changes
    )


async def _send(tx: Tx, definition: Definition, saga: Saga, step: Step, undo: bool) -> None:
    command = definition.command_data(saga, step, undo)
    assert (step.compensation if undo else step.command) == command.TYPE
    sent = new_message(command, source=definition.source, aggregate_id=saga.id, saga_id=saga.id)
    await emit(tx, sent)


async def _begin(tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime) -> None:
    """Send step `no`'s command, or complete the saga after its last step."""
    if no >= len(definition.steps):
        await _save(tx, saga, SagaState.COMPLETED, no, now)
        await definition.on_completed(tx, saga)
        return
    step = definition.steps[no]
    await _save(tx, saga, SagaState.RUNNING, no, now)
    await _set_step(
        tx,
        saga,
        no,
        status=StepStatus.SENT.value,
        attempts=1,
        started_at=now,
        deadline_at=now + timedelta(seconds=step.timeout),
    )
    await _send(tx, definition, saga, step, undo=False)


async def _compensate_from(
    tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime
) -> None:
    """Undo the succeeded steps before `no`, last first; when none is left, the saga is
    compensated."""
    for back in range(no - 1, -1, -1):
        step = definition.steps[back]
        row = _step_row(saga, back)
        if row["status"] != StepStatus.SUCCEEDED or step.compensation is None:
            continue
        await _save(tx, saga, SagaState.COMPENSATING, back, now)
        await _set_step(
            tx,
            saga,
            back,
            status=StepStatus.COMPENSATING.value,
            attempts=int(row["attempts"]) + 1,
            deadline_at=now + timedelta(seconds=step.timeout),
        )
        await _send(tx, definition, saga, step, undo=True)
        return
    await _save(tx, saga, SagaState.COMPENSATED, -1, now)
    await definition.on_compensated(tx, saga)


async def advance(tx: Tx, definitions: dict[str, Definition], message: Envelope) -> bool:
    """Move the saga `message` answers; False if it answers none (or nothing it waits for)."""
    if not message.saga_id:
        return False
    saga = await _load(tx, message.saga_id)
    if saga is None or saga.kind not in definitions:
        return False
    definition = definitions[saga.kind]
    now = utcnow()
    if saga.state is SagaState.RUNNING:
        step = definition.steps[saga.step]
        if message.type in step.succeeded:
            detail = {"event": message.type, "event_id": message.id}
            await _finish_step(tx, saga, StepStatus.SUCCEEDED, now, detail=detail)
            await _begin(tx, definition, saga, saga.step + 1, now)
            return True
        if message.type in step.failed:
            reason = str(message.data.get("reason") or message.type)
            await _fail(tx, definition, saga, reason, {"event": message.type}, now)
            return True
    elif saga.state is SagaState.COMPENSATING:
        step = definition.steps[saga.step]
        if message.type in step.compensated:
            await _finish_step(tx, saga, StepStatus.COMPENSATED, now)
            await _compensate_from(tx, definition, saga, saga.step, now)
            return True
    log.info("saga reply ignored", saga_id=saga.id, state=saga.state, type=message.type)
    return False


async def _fail(
    tx: Tx,
    definition: Definition,
    saga: Saga,
    reason: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    saga.reason = reason
    await _set_step(
        tx,
        saga,
        saga.step,
        status=StepStatus.FAILED.value,
        finished_at=now,
        deadline_at=None,
        detail={**detail, "reason": reason},
    )
    await _compensate_from(tx, definition, saga, saga.step, now)


async def expire_overdue(db: Database, definitions: dict[str, Definition]) -> int:
    """Steps past their deadline: send the command again, or, its retries spent, fail the
    step (compensating what came before). A compensation that never answers leaves the
    saga `stuck` for an operator."""
    rows = await db.read(
        lambda tx: tx.fetch_all(store.OVERDUE, {"now": utcnow(), "limit": _OVERDUE_BATCH})
    )
    for row in rows:

        async def work(tx: Tx, saga_id: str = row["saga_id"], no: int = row["step_no"]) -> None:
            saga = await _load(tx, saga_id)
            if saga is None or saga.kind not in definitions or saga.step != no:
                return
            step_row = _step_row(saga, no)
            deadline = step_row["deadline_at"]
            if deadline is None or _aware(deadline) >= utcnow():
                return  # answered meanwhile
            await _timed_out(tx, definitions[saga.kind], saga, no, step_row)

        await db.transaction(work)
    return len(rows)


def _aware(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def _timed_out(
    tx: Tx, definition: Definition, saga: Saga, no: int, row: dict[str, Any]
) -> None:
    step, now = definition.steps[no], utcnow()
    attempts = int(row["attempts"])
    undoing = saga.state is SagaState.COMPENSATING
    if attempts <= step.retries:
        await _set_step(
            tx,
            saga,
            no,
            attempts=attempts + 1,
            deadline_at=now + timedelta(seconds=step.timeout),
        )
        await _send(tx, definition, saga, step, undo=undoing)
        return
    if undoing:
        saga.reason = f"{step.name}: compensation unanswered"
        await _set_step(tx, saga, no, deadline_at=None)
        await _save(tx, saga, SagaState.STUCK, no, now)
        log.error("saga stuck", saga_id=saga.id, step=step.name)
        return
    await _fail(tx, definition, saga, f"{step.name}_timed_out", {"timed_out": True}, now)


# -- reading --------------------------------------------------------------------------------


def view(saga: Saga) -> dict[str, Any]:
    """What operators see of a saga (API and CLI alike): its data and details mirror the
    camelCase messages it sends, and are shown in snake_case as the REST answers."""
    return {
        "saga_id": saga.id,
        "kind": saga.kind,
        "state": saga.state.value,
        "reason": saga.reason,
        "data": snake(saga.data),
        "steps": [
            {
                "name": s["name"],
                "status": s["status"],
                "attempts": s["attempts"],
                "started_at": s["started_at"],
                "finished_at": s["finished_at"],
                "deadline_at": s["deadline_at"],
                "detail": snake(s["detail"]),
            }
            for s in saga.steps
        ],
    }


async def get(db: Database, saga_id: str) -> dict[str, Any]:
    saga = await db.read(lambda tx: _load(tx, saga_id))
    if saga is None:
        raise SagaNotFound(f"saga {saga_id} does not exist")
    return view(saga)


async def find(db: Database, state: str = "", limit: int = 100) -> list[Row]:
    return await db.read(
        lambda tx: tx.fetch_all(store.LIST_SAGAS, {"state": state, "limit": limit})
    )
