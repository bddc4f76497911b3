"""The saga engine: a durable process manager advanced only by messages.

A saga is declared as steps (`model.Step`). Each step sends a command (a message through
the outbox) and waits for one of the events that mean it succeeded or failed; it may name a
compensation (a command that undoes it) and the events that say the undoing is done, a
timeout and how many times the command is sent again when the timeout passes. A step may
also wait for a signal rather than an answer (an approver's word, handed to `advance`), wait
longer when told to (`waiting`), or be skipped for a saga whose data does not need it
(`when`). The saga's state and each step's attempts and timings are rows in the owning
database, changed only in the transaction of the message that moves them (through the
inbox), so a crash at any point resumes where it stopped and a repeated message changes
nothing.

When a step fails (or times out for the last time) the steps that succeeded are
compensated in reverse order; a saga that completes or is compensated calls its
definition's hooks in the same transaction. A compensated saga may be run again from its
first step (`restart`), as an operator's replay of a failed checkout does.

    running ──> completed
       └──> compensating ──> compensated ──> running (restart)
                   └──> stuck            (a compensation that never answered: for operators)
"""

from datetime import datetime, timedelta
from typing import Any

import structlog

from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, emit, new_message
from orderly.sagas import store
from orderly.sagas.model import (
    Definition,
    Hook,
    Saga,
    SagaNotFound,
    SagaState,
    Step,
    StepHook,
    StepStatus,
    load,
)
from orderly.sagas.reading import find, get, view
from orderly.storage import Database, Tx

__all__ = [
    "Definition",
    "Hook",
    "Saga",
    "SagaNotFound",
    "SagaState",
    "Step",
    "StepHook",
    "StepStatus",
    "advance",
    "expire_overdue",
    "find",
    "get",
    "restart",
    "start",
    "view",
]

log = structlog.get_logger(__name__)

_OVERDUE_BATCH = 200


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
    saga = await load(tx, saga_id)
    assert saga is not None
    await _begin(tx, definition, saga, 0, now)


async def restart(tx: Tx, definition: Definition, saga_id: str, data: dict[str, Any]) -> bool:
    """Run a compensated saga again from its first step, with `data` merged into its data
    (a new run number, say); False if it is not compensated (running, or done)."""
    saga = await load(tx, saga_id)
    if saga is None:
        raise SagaNotFound(f"saga {saga_id} does not exist")
    if saga.state is not SagaState.COMPENSATED:
        return False
    saga.data = {**saga.data, **data}
    saga.reason = None
    for no in range(len(definition.steps)):
        await _set_step(
            tx,
            saga,
            no,
            status=StepStatus.PENDING.value,
            attempts=0,
            started_at=None,
            finished_at=None,
            deadline_at=None,
            detail={},
        )
    await _begin(tx, definition, saga, 0, utcnow())
    return True


async def _save(tx: Tx, saga: Saga, state: SagaState, step: int, now: datetime) -> None:
    changed = await tx.execute(
        store.UPDATE_SAGA,
        {
            "id": saga.id,
            "state": state.value,
            "step": step,
            "reason": saga.reason,
            "data": saga.data,
            "at": now,
            "version": saga.version,
        },
    )
    if not changed:  # another message moved it first: this one is tried again
        raise RuntimeError(f"saga {saga.id} changed concurrently; retrying")
    saga.state, saga.step, saga.version = state, step, saga.version + 1


async def _set_step(tx: Tx, saga: Saga, no: int, **changes: Any) -> None:
    row = {**saga.row(no), **changes}
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
    if (step.compensation if undo else step.command) is None:
        return  # a signal is awaited, not an answer
    command = definition.command_data(saga, step, undo)
    assert (step.compensation if undo else step.command) == command.TYPE
    sent = new_message(command, source=definition.source, aggregate_id=saga.id, saga_id=saga.id)
    await emit(tx, sent)


async def _begin(tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime) -> None:
    """Send step `no`'s command (skipping the steps this saga does not need), or complete
    the saga after its last step."""
    while no < len(definition.steps) and not _needed(definition.steps[no], saga):
        await _set_step(tx, saga, no, status=StepStatus.SKIPPED.value)
        no += 1
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
    await definition.on_step(tx, saga, step, StepStatus.SENT, None)


def _needed(step: Step, saga: Saga) -> bool:
    return step.when is None or step.when(saga.data)


def _to_undo(step: Step, row: dict[str, Any]) -> bool:
    """A step that succeeded, or one that timed out and may have taken effect anyway."""
    if step.compensation is None:
        return False
    if row["status"] == StepStatus.SUCCEEDED:
        return True
    timed_out = bool((row["detail"] or {}).get("timed_out"))
    return step.undo_on_timeout and row["status"] == StepStatus.FAILED and timed_out


async def _compensate_from(
    tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime
) -> None:
    """Undo the steps before `no` that took effect, last first; when none is left, the saga
    is compensated."""
    for back in range(no - 1, -1, -1):
        step = definition.steps[back]
        row = saga.row(back)
        if not _to_undo(step, row):
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
    saga = await load(tx, message.saga_id)
    if saga is None or saga.kind not in definitions:
        return False
    definition = definitions[saga.kind]
    now = utcnow()
    if not definition.accepts(saga, message):
        log.info("saga reply of an earlier run ignored", saga_id=saga.id, type=message.type)
        return False
    if saga.state is SagaState.RUNNING:
        step = definition.steps[saga.step]
        if message.type in step.succeeded:
            detail = {"event": message.type, "event_id": message.id}
            await _finish_step(tx, saga, StepStatus.SUCCEEDED, now, detail=detail)
            await definition.on_step(tx, saga, step, StepStatus.SUCCEEDED, message)
            await _begin(tx, definition, saga, saga.step + 1, now)
            return True
        if message.type in step.failed:
            reason = str(message.data.get("reason") or message.type)
            failure = {"event": message.type, "detail": message.data.get("detail")}
            await definition.on_step(tx, saga, step, StepStatus.FAILED, message)
            await _fail(tx, definition, saga, reason, failure, now)
            return True
        if message.type in step.waiting:
            await _wait_longer(tx, saga, step, message, now)
            await definition.on_step(tx, saga, step, StepStatus.WAITING, message)
            return True
    elif saga.state is SagaState.COMPENSATING:
        step = definition.steps[saga.step]
        if message.type in step.compensated:
            await _finish_step(tx, saga, StepStatus.COMPENSATED, now)
            await _compensate_from(tx, definition, saga, saga.step, now)
            return True
    log.info("saga reply ignored", saga_id=saga.id, state=saga.state, type=message.type)
    return False


async def _wait_longer(tx: Tx, saga: Saga, step: Step, message: Envelope, now: datetime) -> None:
    """The step goes on for `wait_timeout` more seconds, its command not sent again."""
    await _set_step(
        tx,
        saga,
        saga.step,
        status=StepStatus.WAITING.value,
        attempts=step.retries + 1,
        deadline_at=now + timedelta(seconds=step.wait_timeout or step.timeout),
        detail={"event": message.type, "event_id": message.id},
    )


async def _fail(
    tx: Tx,
    definition: Definition,
    saga: Saga,
    reason: str,
    detail: dict[str, object],
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
    # a step that timed out and may have taken effect is undone with those before it
    await _compensate_from(tx, definition, saga, saga.step + 1, now)


async def expire_overdue(db: Database, definitions: dict[str, Definition]) -> int:
    """Steps past their deadline: send the command again, or, its retries spent, fail the
    step (compensating what came before). A compensation that never answers leaves the
    saga `stuck` for an operator."""
    rows = await db.read(
        lambda tx: tx.fetch_all(store.OVERDUE, {"now": utcnow(), "limit": _OVERDUE_BATCH})
    )
    for row in rows:

        async def work(tx: Tx, saga_id: str = row["saga_id"], no: int = row["step_no"]) -> None:
            saga = await load(tx, saga_id)
            if saga is None or saga.kind not in definitions or saga.step != no:
                return
            step_row = saga.row(no)
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
    if attempts <= step.retries and (undoing or step.command is not None):
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
    await definition.on_step(tx, saga, step, StepStatus.FAILED, None)
    await _fail(tx, definition, saga, f"{step.name}_timed_out", {"timed_out": True}, now)
