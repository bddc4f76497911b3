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
nothing. A saga is one row, its steps a JSON list in it: each message that moves a saga reads
that row and writes it back once, whatever it changed, checking its version so that two
messages never both move it.

When a step fails (or times out for the last time) the steps that succeeded are
compensated in reverse order; a saga that completes or is compensated calls its
definition's hooks in the same transaction. A compensated saga may be run again from its
first step (`restart`), as an operator's replay of a failed checkout does.

    running ──> completed
       └──> compensating ──> compensated ──> running (restart)
                   └──> stuck            (a compensation that never answered: for operators)
"""

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
import structlog

from orderly import tracing
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, emit, new_message
from orderly.observability import SAGA_STEP_SECONDS
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
    moment,
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
    taken: int = 0,
) -> None:
    """Start a saga in the caller's transaction. `done` records steps the caller already
    took itself (a local check), shown before the declared ones. The first `taken` declared
    steps the caller took too (what they do is done already): they succeeded, and are
    compensated as any other."""
    now = utcnow()
    # the saga's own copy, as stored: JSON's values, and no dict the caller keeps
    data = orjson.loads(orjson.dumps(data))
    local = [
        _step_row(no - len(done), name, StepStatus.SUCCEEDED, detail, now)
        for no, (name, detail) in enumerate(done)
    ]
    declared = [
        _step_row(no, step.name, StepStatus.SUCCEEDED, {"taken": True}, now)
        if no < taken
        else _step_row(no, step.name, StepStatus.PENDING, {}, None)
        for no, step in enumerate(definition.steps)
    ]
    saga = Saga(saga_id, definition.kind, SagaState.RUNNING, 0, data, None, 0, local + declared)
    await _begin(tx, definition, saga, taken, now)
    await tx.execute(store.INSERT_SAGA, {**_columns(saga), "kind": saga.kind, "at": now})
    saga.version = 1


def _step_row(
    no: int, name: str, status: StepStatus, detail: dict[str, Any], finished: datetime | None
) -> dict[str, Any]:
    return {
        "step_no": no,
        "name": name,
        "status": status.value,
        "attempts": 1 if finished else 0,
        "started_at": finished,
        "finished_at": finished,
        "deadline_at": None,
        "detail": detail,
    }


async def restart(tx: Tx, definition: Definition, saga_id: str, data: dict[str, Any]) -> bool:
    """Run a compensated saga again from its first step, with `data` merged into its data
    (a new run number, say); False if it is not compensated (running, or done)."""
    saga = await load(tx, saga_id, to_move=True)
    if saga is None:
        raise SagaNotFound(f"saga {saga_id} does not exist")
    if saga.state is not SagaState.COMPENSATED:
        return False
    now = utcnow()
    saga.data = {**saga.data, **data}
    saga.reason = None
    for no, step in enumerate(definition.steps):
        _set_step(saga, no, **_step_row(no, step.name, StepStatus.PENDING, {}, None))
    await _begin(tx, definition, saga, 0, now)
    await _store(tx, saga, now)
    return True


def _columns(saga: Saga) -> dict[str, Any]:
    """The saga's row as it is now; the deadline is its current step's, while it runs or
    compensates."""
    deadline = None
    if saga.state in (SagaState.RUNNING, SagaState.COMPENSATING):
        current = next((s for s in saga.steps if s["step_no"] == saga.step), None)
        deadline = None if current is None else moment(current["deadline_at"])
    saga.deadline_at = deadline
    return {
        "id": saga.id,
        "state": saga.state.value,
        "step": saga.step,
        "reason": saga.reason,
        "data": saga.data,
        "steps": saga.steps,
        "deadline_at": deadline,
    }


async def _store(tx: Tx, saga: Saga, now: datetime) -> None:
    """Write the saga back, once per message that moved it."""
    params = {**_columns(saga), "at": now, "version": saga.version}
    if not await tx.execute(store.UPDATE_SAGA, params):
        # another message moved it first: this one is tried again
        raise RuntimeError(f"saga {saga.id} changed concurrently; retrying")
    saga.version += 1


def _move(saga: Saga, state: SagaState, step: int) -> None:
    saga.state, saga.step = state, step


def _set_step(saga: Saga, no: int, **changes: Any) -> None:
    saga.row(no).update(changes)


def _finish_step(saga: Saga, status: StepStatus, now: datetime, **changes: Any) -> None:
    """The current step got the answer it waited for: no deadline any more."""
    _set_step(saga, saga.step, status=status.value, finished_at=now, deadline_at=None, **changes)


def _timed(tx: Tx, saga: Saga, outcome: str, now: datetime, since: str = "started_at") -> None:
    """`orderly_saga_step_seconds` observes the current step, from `since` (when its command,
    or its undoing's, was first sent) to `now`, once `tx` commits."""
    row = saga.row(saga.step)
    started = moment(row.get(since))
    if started is None:  # never sent; or an undoing begun before undoings were timed
        return
    seconds = max((now - started).total_seconds(), 0.0)
    tx.after_commit(
        partial(SAGA_STEP_SECONDS.labels(saga.kind, row["name"], outcome).observe, seconds)
    )


async def _send(tx: Tx, definition: Definition, saga: Saga, step: Step, undo: bool) -> None:
    if (step.compensation if undo else step.command) is None:
        return  # a signal is awaited, not an answer
    command = definition.command_data(saga, step, undo)
    assert (step.compensation if undo else step.command) == command.TYPE
    if not tracing.ON:
        sent = new_message(command, source=definition.source, aggregate_id=saga.id, saga_id=saga.id)
    else:  # the command carries its step's span: the receiver's span is a child of it
        with tracing.child(
            f"saga {saga.kind} {'undo ' if undo else ''}{step.name}",
            {"orderly.saga.id": saga.id},
        ):
            sent = new_message(
                command, source=definition.source, aggregate_id=saga.id, saga_id=saga.id
            )
    await emit(tx, sent)


async def _begin(tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime) -> None:
    """Send step `no`'s command (skipping the steps this saga does not need), or complete
    the saga after its last step."""
    while no < len(definition.steps) and not _needed(definition.steps[no], saga):
        _set_step(saga, no, status=StepStatus.SKIPPED.value)
        no += 1
    if no >= len(definition.steps):
        _move(saga, SagaState.COMPLETED, no)
        await definition.on_completed(tx, saga)
        return
    step = definition.steps[no]
    _move(saga, SagaState.RUNNING, no)
    _set_step(
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
    if step.undo_if_failed and row["status"] == StepStatus.FAILED:
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
        _move(saga, SagaState.COMPENSATING, back)
        _set_step(
            saga,
            back,
            status=StepStatus.COMPENSATING.value,
            attempts=int(row["attempts"]) + 1,
            deadline_at=now + timedelta(seconds=step.timeout),
            undo_started_at=now,  # not shown (`reading.view`): what times the undoing
        )
        await _send(tx, definition, saga, step, undo=True)
        return
    _move(saga, SagaState.COMPENSATED, -1)
    await definition.on_compensated(tx, saga)


async def advance(tx: Tx, definitions: dict[str, Definition], message: Envelope) -> Saga | None:
    """Move the saga `message` answers; the saga as moved, or None if it answers none (or
    nothing it waits for)."""
    if not message.saga_id:
        return None
    saga = await load(tx, message.saga_id, to_move=True)
    if saga is None or saga.kind not in definitions:
        return None
    definition = definitions[saga.kind]
    if not definition.accepts(saga, message):
        log.info("saga reply of an earlier run ignored", saga_id=saga.id, type=message.type)
        return None
    now = utcnow()
    if not await _answered(tx, definition, saga, message, now):
        log.info("saga reply ignored", saga_id=saga.id, state=saga.state, type=message.type)
        return None
    await _store(tx, saga, now)
    return saga


async def _answered(
    tx: Tx, definition: Definition, saga: Saga, message: Envelope, now: datetime
) -> bool:
    """Move `saga` in memory by `message`; False if it waits for no such answer."""
    if saga.state is SagaState.RUNNING:
        step = definition.steps[saga.step]
        if message.type in step.succeeded:
            detail = {"event": message.type, "event_id": message.id}
            _finish_step(saga, StepStatus.SUCCEEDED, now, detail=detail)
            _timed(tx, saga, "succeeded", now)
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
            _wait_longer(saga, step, message, now)
            await definition.on_step(tx, saga, step, StepStatus.WAITING, message)
            return True
    elif saga.state is SagaState.COMPENSATING:
        step = definition.steps[saga.step]
        if message.type in step.compensated:
            _finish_step(saga, StepStatus.COMPENSATED, now)
            _timed(tx, saga, "compensated", now, since="undo_started_at")
            await _compensate_from(tx, definition, saga, saga.step, now)
            return True
    return False


def _wait_longer(saga: Saga, step: Step, message: Envelope, now: datetime) -> None:
    """The step goes on for `wait_timeout` more seconds, its command not sent again."""
    _set_step(
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
    _set_step(
        saga,
        saga.step,
        status=StepStatus.FAILED.value,
        finished_at=now,
        deadline_at=None,
        detail={**detail, "reason": reason},
    )
    _timed(tx, saga, "failed", now)
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

        async def work(tx: Tx, saga_id: str = row["id"], no: int = row["step"]) -> None:
            saga = await load(tx, saga_id, to_move=True)
            if saga is None or saga.kind not in definitions or saga.step != no:
                return
            now = utcnow()
            if saga.deadline_at is None or saga.deadline_at >= now:
                return  # answered meanwhile
            await _timed_out(tx, definitions[saga.kind], saga, no, now)
            await _store(tx, saga, now)

        await db.transaction(work)
    return len(rows)


async def _timed_out(tx: Tx, definition: Definition, saga: Saga, no: int, now: datetime) -> None:
    step, row = definition.steps[no], saga.row(no)
    attempts = int(row["attempts"])
    undoing = saga.state is SagaState.COMPENSATING
    if attempts <= step.retries and (undoing or step.command is not None):
        _set_step(
            saga, no, attempts=attempts + 1, deadline_at=now + timedelta(seconds=step.timeout)
        )
        await _send(tx, definition, saga, step, undo=undoing)
        return
    if undoing:
        saga.reason = f"{step.name}: compensation unanswered"
        _set_step(saga, no, deadline_at=None)
        _move(saga, SagaState.STUCK, no)
        log.error("saga stuck", saga_id=saga.id, step=step.name)
        return
    escalated = int((row["detail"] or {}).get("escalations", 0))
    if step.escalations is None or escalated < step.escalations:
        _set_step(
            saga,
            no,
            status=StepStatus.ESCALATED.value,
            deadline_at=now + timedelta(seconds=step.timeout),
            detail={**(row["detail"] or {}), "escalations": escalated + 1, "escalated_at": now},
        )
        log.warning("saga step escalated", saga_id=saga.id, step=step.name, times=escalated + 1)
        await definition.on_step(tx, saga, step, StepStatus.ESCALATED, None)
        return
    await definition.on_step(tx, saga, step, StepStatus.FAILED, None)
    await _fail(tx, definition, saga, f"{step.name}_timed_out", {"timed_out": True}, now)
