"""What a saga is: its declaration (`Definition`, `Step`) and its state as stored (`Saga`)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from orderly.kernel.errors import NotFound
from orderly.messaging import Envelope, Message
from orderly.sagas import store
from orderly.storage import Tx


class SagaState(StrEnum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    STUCK = "stuck"


class StepStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # an answer said the step goes on, for longer (compliance held the order for an analyst)
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    # its `when` did not hold for this saga's data
    SKIPPED = "skipped"
    # its wait ran out and an operator was told; it goes on waiting
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Step:
    """One step: the command it sends (none: it waits for a signal, such as an approver's
    word, given through `engine.advance`), the events that end it, its compensation.

    `timeout` is how long it waits for an answer and `retries` how often the command is sent
    again after that; `waiting` names answers that mean "wait longer", for `wait_timeout`
    seconds, with no more resends. `undo_on_timeout`: a step that timed out may still have
    taken effect, so it is compensated too; `undo_if_failed`, a step that failed for any
    reason (the order was cancelled while its command's effects were under way). `when`, if
    given, decides from the saga's data whether the step is taken at all.

    `escalations`: how many times a wait that runs out (its command's resends spent, or a
    signal not given) is escalated, told to `on_step` as `ESCALATED` and given `timeout`
    more seconds, before the step fails; None escalates without end (a step that must not
    fail, as a shipped order's wait for its delivery)."""

    name: str
    command: str | None
    succeeded: tuple[str, ...]
    failed: tuple[str, ...] = ()
    compensation: str | None = None
    compensated: tuple[str, ...] = ()
    timeout: float = 30.0
    retries: int = 3
    waiting: tuple[str, ...] = ()
    wait_timeout: float = 0.0
    undo_on_timeout: bool = False
    undo_if_failed: bool = False
    when: Callable[[dict[str, Any]], bool] | None = None
    escalations: int | None = 0


@dataclass
class Saga:
    """A saga as stored: `steps` holds one dict per step (`step_no`, `name`, `status`,
    `attempts`, `started_at`, `finished_at`, `deadline_at`, `detail`), the steps its starter
    took itself first, with negative numbers; `deadline_at` is the current step's."""

    id: str
    kind: str
    state: SagaState
    step: int
    data: dict[str, Any]
    reason: str | None
    version: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    deadline_at: datetime | None = None

    def row(self, no: int) -> dict[str, Any]:
        return next(s for s in self.steps if s["step_no"] == no)

    def failed_step(self) -> dict[str, Any] | None:
        """The step whose failure (or last timeout) ended the saga, if one did."""
        return next((s for s in self.steps if s["status"] == StepStatus.FAILED), None)


def moment(value: datetime | str | None) -> datetime | None:
    """A time as read back: SQLite gives text where PostgreSQL gives a datetime, and a
    step's times come back from its saga's JSON as text on both."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


Hook = Callable[[Tx, Saga], Awaitable[None]]
# Told as a step is sent, waits, succeeds or fails (with the answer that moved it, if any).
StepHook = Callable[[Tx, Saga, Step, StepStatus, Envelope | None], Awaitable[None]]


async def _no_step_hook(
    tx: Tx, saga: Saga, step: Step, status: StepStatus, message: Envelope | None
) -> None:
    return None


def _any_answer(saga: Saga, message: Envelope) -> bool:
    return True


@dataclass(frozen=True)
class Definition:
    kind: str
    source: str  # the publishing context's source name for the commands it sends
    steps: tuple[Step, ...]
    # a step's command, or its compensation (`undo`), from the saga's data
    command_data: Callable[[Saga, Step, bool], Message]
    on_completed: Hook
    on_compensated: Hook
    on_step: StepHook = _no_step_hook
    # whether an answer belongs to the saga as it runs now (not to a run replayed since)
    accepts: Callable[[Saga, Envelope], bool] = _any_answer

    def replies(self) -> tuple[str, ...]:
        kinds = {
            t for s in self.steps for t in (*s.succeeded, *s.failed, *s.compensated, *s.waiting)
        }
        return tuple(sorted(kinds))


class SagaNotFound(NotFound):
    code = "saga_not_found"
    title = "Saga not found"


async def load(tx: Tx, saga_id: str, *, to_move: bool = False) -> Saga | None:
    """The saga as stored; `to_move`: in a transaction that will write it back (locked on
    PostgreSQL until it commits)."""
    stmt = store.GET_SAGA_FOR_UPDATE if to_move and tx.dialect == "postgresql" else store.GET_SAGA
    row = await tx.fetch_one(stmt, {"id": saga_id})
    if row is None:
        return None
    return Saga(
        id=row["id"],
        kind=row["kind"],
        state=SagaState(row["state"]),
        step=int(row["step"]),
        data=row["data"],
        reason=row["reason"],
        version=int(row["version"]),
        steps=row["steps"],
        deadline_at=moment(row["deadline_at"]),
    )
