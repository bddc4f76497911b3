"""The saga engine and ordering's upkeep on both databases: steps advance, fail and
compensate in reverse, time out and are sent again; old idempotency keys are forgotten."""

from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest

from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, Message, new_message
from orderly.messaging.envelope import decode_envelope
from orderly.ordering import idempotency, store
from orderly.sagas import engine
from orderly.sagas.engine import Definition, Saga, Step
from orderly.storage import Database, Tx, open_database, sql
from orderly.storage.migrations import migrate

OUTBOX = sql("SELECT envelope FROM outbox ORDER BY id")
AGE_KEY = sql("UPDATE idempotency_keys SET created_at = :at WHERE key = :key")
KEYS = sql("SELECT key FROM idempotency_keys ORDER BY key")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, "ordering")
    opened = await open_database(database_url, "ordering")
    try:
        yield opened
    finally:
        await opened.close()


ended: list[tuple[str, str]] = []


async def _completed(tx: Tx, saga: Saga) -> None:
    ended.append((saga.id, "completed"))


async def _compensated(tx: Tx, saga: Saga) -> None:
    ended.append((saga.id, "compensated"))


def _kind(message_type: str) -> type[Message]:
    """A message type of the trip's own: `{orderId, undo}`."""
    name = "".join(part.title() for part in message_type.split("."))
    fields = [("order_id", str), ("undo", bool)]
    return msgspec.defstruct(name, fields, bases=(Message,), namespace={"TYPE": message_type})


KINDS = {
    t: _kind(t)
    for t in (
        "flight.book",
        "flight.cancel",
        "hotel.book",
        "hotel.cancel",
        "car.book",
        "flight.booked",
        "flight.cancelled",
        "hotel.booked",
        "hotel.cancelled",
        "car.booked",
        "car.gone",
    )
}


def _data(saga: Saga, step: Step, undo: bool) -> Message:
    kind = step.compensation if undo else step.command
    assert kind is not None
    return KINDS[kind](order_id=saga.id, undo=undo)


TRIP = Definition(
    kind="trip",
    source="test",
    steps=(
        Step(
            "flight",
            "flight.book",
            ("flight.booked",),
            ("flight.full",),
            "flight.cancel",
            ("flight.cancelled",),
            timeout=60,
            retries=1,
        ),
        Step(
            "hotel",
            "hotel.book",
            ("hotel.booked",),
            ("hotel.full",),
            "hotel.cancel",
            ("hotel.cancelled",),
            timeout=60,
            retries=1,
        ),
        Step("car", "car.book", ("car.booked",), ("car.gone",), timeout=60, retries=1),
    ),
    command_data=_data,
    on_completed=_completed,
    on_compensated=_compensated,
)
DEFINITIONS = {"trip": TRIP}


async def _sent(db: Database) -> list[tuple[str, Envelope]]:
    rows = await db.read(lambda tx: tx.fetch_all(OUTBOX))
    found = [decode_envelope(row["envelope"]) for row in rows]
    return [(m.type, m) for m in found]


async def _reply(db: Database, saga_id: str, kind: str) -> bool:
    body = KINDS[kind](order_id=saga_id, undo=False)
    message = new_message(body, source="test", saga_id=saga_id)
    return await db.transaction(lambda tx: engine.advance(tx, DEFINITIONS, message))


async def test_a_saga_runs_its_steps_in_order_and_ignores_what_it_does_not_wait_for(
    db: Database,
) -> None:
    await db.transaction(lambda tx: engine.start(tx, TRIP, "s1", {}, done=(("check", {}),)))
    assert [t for t, _ in await _sent(db)] == ["flight.book"]
    assert not await _reply(db, "s1", "hotel.booked")  # not what it waits for
    assert await _reply(db, "s1", "flight.booked")
    assert not await _reply(db, "s1", "flight.booked")  # a repeat moves nothing
    assert await _reply(db, "s1", "hotel.booked")
    assert await _reply(db, "s1", "car.booked")
    assert [t for t, _ in await _sent(db)] == ["flight.book", "hotel.book", "car.book"]
    shown = await engine.get(db, "s1")
    assert shown["state"] == "completed"
    assert [(s["name"], s["status"]) for s in shown["steps"]] == [
        ("check", "succeeded"),
        ("flight", "succeeded"),
        ("hotel", "succeeded"),
        ("car", "succeeded"),
    ]
    assert ("s1", "completed") in ended


async def test_a_failed_step_compensates_the_ones_before_it_last_first(db: Database) -> None:
    await db.transaction(lambda tx: engine.start(tx, TRIP, "s2", {}))
    await _reply(db, "s2", "flight.booked")
    await _reply(db, "s2", "hotel.booked")
    assert await _reply(db, "s2", "car.gone")
    assert [t for t, _ in await _sent(db)][-1] == "hotel.cancel"
    assert (await engine.get(db, "s2"))["state"] == "compensating"
    assert await _reply(db, "s2", "hotel.cancelled")
    assert [t for t, _ in await _sent(db)][-1] == "flight.cancel"
    assert await _reply(db, "s2", "flight.cancelled")
    shown = await engine.get(db, "s2")
    assert (shown["state"], shown["reason"]) == ("compensated", "car.gone")
    assert [s["status"] for s in shown["steps"]] == ["compensated", "compensated", "failed"]
    assert ("s2", "compensated") in ended


async def test_an_unanswered_step_is_sent_again_then_fails(db: Database) -> None:
    await db.transaction(lambda tx: engine.start(tx, TRIP, "s3", {}))
    await _reply(db, "s3", "flight.booked")
    overdue = sql("UPDATE sagas SET deadline_at = :at WHERE id = 's3'")
    past = utcnow() - timedelta(seconds=1)
    # the first time its deadline passes, the command goes again
    await db.transaction(lambda tx: tx.execute(overdue, {"at": past}))
    assert await engine.expire_overdue(db, DEFINITIONS) >= 1
    hotel = [m for t, m in await _sent(db) if t == "hotel.book"]
    assert [(m.saga_id, m.data["orderId"]) for m in hotel] == [("s3", "s3"), ("s3", "s3")]
    # the second time its retries are spent: the step fails and the flight is cancelled
    await db.transaction(lambda tx: tx.execute(overdue, {"at": past}))
    await engine.expire_overdue(db, DEFINITIONS)
    shown = await engine.get(db, "s3")
    assert (shown["state"], shown["reason"]) == ("compensating", "hotel_timed_out")
    assert [t for t, _ in await _sent(db)][-1] == "flight.cancel"


async def test_idempotency_keys_are_forgotten_after_two_days_not_before(db: Database) -> None:
    async def claim(key: str, age: timedelta) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(
                store.CLAIM_IDEMPOTENCY_KEY,
                {"key": key, "fingerprint": "f", "response": {}, "at": utcnow(), "order_id": None},
            )
            await tx.execute(AGE_KEY, {"key": key, "at": utcnow() - age})

        await db.transaction(work)

    await claim("u:fresh", timedelta(hours=1))
    await claim("u:yesterday", timedelta(hours=30))
    await claim("u:old", timedelta(hours=49))
    assert await idempotency.forget_idempotency_keys(db, timedelta(days=2)) == 1
    rows = await db.read(lambda tx: tx.fetch_all(KEYS))
    assert [r["key"] for r in rows] == ["u:fresh", "u:yesterday"]
    # asking for less than a day still keeps a day
    assert await idempotency.forget_idempotency_keys(db, timedelta(0)) == 1
    rows = await db.read(lambda tx: tx.fetch_all(KEYS))
    assert [r["key"] for r in rows] == ["u:fresh"]


KINDS.update(
    {
        t: _kind(t)
        for t in ("visa.approved", "visa.refused", "visa.pending", "room.book", "room.booked")
    }
)
KINDS["room.cancel"] = _kind("room.cancel")
KINDS["room.cancelled"] = _kind("room.cancelled")

# A visa, when the trip's data says it needs one, is a signal (no command); the room's answer
# may say "wait longer", and a room booking that timed out may have been made: undone too.
ABROAD = Definition(
    kind="abroad",
    source="test",
    steps=(
        Step(
            "visa",
            None,
            ("visa.approved",),
            ("visa.refused",),
            timeout=60,
            retries=0,
            when=lambda data: bool(data.get("foreign")),
        ),
        Step(
            "room",
            "room.book",
            ("room.booked",),
            (),
            "room.cancel",
            ("room.cancelled",),
            timeout=60,
            retries=0,
            waiting=("visa.pending",),
            wait_timeout=3600,
            undo_on_timeout=True,
        ),
    ),
    command_data=_data,
    on_completed=_completed,
    on_compensated=_compensated,
)
ABROAD_DEFINITIONS = {"abroad": ABROAD}


async def _tell(db: Database, saga_id: str, kind: str, **data: object) -> bool:
    body = KINDS[kind](order_id=saga_id, undo=False)
    message = new_message(body, source="test", saga_id=saga_id)
    if data:
        message = msgspec.structs.replace(message, data={**message.data, **data})
    return await db.transaction(lambda tx: engine.advance(tx, ABROAD_DEFINITIONS, message))


async def _overdue(db: Database, saga_id: str, step_no: int) -> None:
    late = sql("UPDATE sagas SET deadline_at = :at WHERE id = :id AND step = :no")
    past = utcnow() - timedelta(seconds=1)
    changed = await db.transaction(
        lambda tx: tx.execute(late, {"at": past, "id": saga_id, "no": step_no})
    )
    assert changed == 1, f"step {step_no} is not {saga_id}'s current step"
    await engine.expire_overdue(db, ABROAD_DEFINITIONS)


async def test_a_signal_step_waits_sends_nothing_and_is_skipped_when_not_needed(
    db: Database,
) -> None:
    await db.transaction(lambda tx: engine.start(tx, ABROAD, "a1", {"foreign": True}))
    assert [t for t, _ in await _sent(db) if _.saga_id == "a1"] == []  # a signal is awaited
    assert await _tell(db, "a1", "visa.approved")
    assert [t for t, m in await _sent(db) if m.saga_id == "a1"] == ["room.book"]

    await db.transaction(lambda tx: engine.start(tx, ABROAD, "a2", {"foreign": False}))
    shown = await engine.get(db, "a2")
    assert [(s["name"], s["status"]) for s in shown["steps"]] == [
        ("visa", "skipped"),
        ("room", "sent"),
    ]
    # a signal that never comes fails the saga at its timeout
    await db.transaction(lambda tx: engine.start(tx, ABROAD, "a3", {"foreign": True}))
    await _overdue(db, "a3", 0)
    shown = await engine.get(db, "a3")
    assert (shown["state"], shown["reason"]) == ("compensated", "visa_timed_out")


async def test_waiting_longer_stops_resends_and_a_timed_out_step_is_undone_too(
    db: Database,
) -> None:
    await db.transaction(lambda tx: engine.start(tx, ABROAD, "b1", {}))
    assert await _tell(db, "b1", "visa.pending")
    shown = await engine.get(db, "b1")
    room = shown["steps"][1]
    assert room["status"] == "waiting"
    waits = room["deadline_at"] - utcnow()
    assert timedelta(minutes=59) < waits <= timedelta(hours=1)
    # its wait runs out: no resend, the step fails, and the room, perhaps booked, is cancelled
    await _overdue(db, "b1", 1)
    mine = [t for t, m in await _sent(db) if m.saga_id == "b1"]
    assert mine == ["room.book", "room.cancel"]
    assert (await engine.get(db, "b1"))["state"] == "compensating"
    assert await _tell(db, "b1", "room.cancelled")
    assert (await engine.get(db, "b1"))["state"] == "compensated"


async def test_a_compensated_saga_runs_again_and_answers_of_another_run_are_ignored(
    db: Database,
) -> None:
    current = Definition(
        **{
            **{f: getattr(ABROAD, f) for f in ("kind", "source", "steps", "command_data")},
            "on_completed": _completed,
            "on_compensated": _compensated,
            "accepts": lambda saga, message: message.data.get("run") in (None, saga.data["run"]),
        }
    )
    known = {"abroad": current}

    async def tell(kind: str, run: int) -> bool:
        body = KINDS[kind](order_id="c1", undo=False)
        message = new_message(body, source="test", saga_id="c1")
        message = msgspec.structs.replace(message, data={**message.data, "run": run})
        return await db.transaction(lambda tx: engine.advance(tx, known, message))

    await db.transaction(lambda tx: engine.start(tx, current, "c1", {"run": 1}))
    await _overdue(db, "c1", 1)  # the room timed out: undone
    assert await tell("room.cancelled", 1)
    assert (await engine.get(db, "c1"))["state"] == "compensated"
    assert await db.transaction(lambda tx: engine.restart(tx, current, "c1", {"run": 2}))
    shown = await engine.get(db, "c1")
    assert (shown["state"], shown["data"]["run"]) == ("running", 2)
    assert [s["status"] for s in shown["steps"]] == ["skipped", "sent"]
    assert not await tell("room.booked", 1)  # the first run's late answer
    assert await tell("room.booked", 2)
    assert (await engine.get(db, "c1"))["state"] == "completed"
    # only a compensated saga runs again
    assert not await db.transaction(lambda tx: engine.restart(tx, current, "c1", {"run": 3}))


KINDS.update({t: _kind(t) for t in ("parcel.sent", "parcel.lost", "porter.call", "porter.gone")})
KINDS["porter.came"] = _kind("porter.came")
escalated: list[tuple[str, str, int]] = []


async def _on_step(
    tx: Tx, saga: Saga, step: Step, status: engine.StepStatus, message: Envelope | None
) -> None:
    if status is engine.StepStatus.ESCALATED:
        escalated.append((saga.id, step.name, saga.row(saga.step)["detail"]["escalations"]))


# The room was booked before the saga began (taken); the porter's call may have taken effect
# before it failed; the parcel's arrival is awaited however long it takes, escalated each time.
STAY = Definition(
    kind="stay",
    source="test",
    steps=(
        Step("room", None, (), (), "room.cancel", ("room.cancelled",), timeout=60),
        Step(
            "porter",
            "porter.call",
            ("porter.came",),
            ("porter.gone",),
            "porter.gone",
            ("room.cancelled",),
            timeout=60,
            retries=0,
            escalations=2,
            undo_if_failed=True,
        ),
        Step("parcel", None, ("parcel.sent",), (), timeout=60, escalations=None),
    ),
    command_data=_data,
    on_completed=_completed,
    on_compensated=_compensated,
    on_step=_on_step,
)
STAY_DEFINITIONS = {"stay": STAY}


async def _stay(db: Database, saga_id: str, kind: str) -> bool:
    body = KINDS[kind](order_id=saga_id, undo=False)
    message = new_message(body, source="test", saga_id=saga_id)
    return await db.transaction(lambda tx: engine.advance(tx, STAY_DEFINITIONS, message))


async def _stay_overdue(db: Database, saga_id: str) -> None:
    late = sql("UPDATE sagas SET deadline_at = :at WHERE id = :id")
    past = utcnow() - timedelta(seconds=1)
    await db.transaction(lambda tx: tx.execute(late, {"at": past, "id": saga_id}))
    await engine.expire_overdue(db, STAY_DEFINITIONS)


async def test_a_taken_step_is_compensated_and_a_wait_escalates_before_it_fails(
    db: Database,
) -> None:
    # a saga whose first step its starter took: it begins at the second
    await db.transaction(lambda tx: engine.start(tx, STAY, "e1", {}, taken=1))
    shown = await engine.get(db, "e1")
    assert [(s["name"], s["status"]) for s in shown["steps"]] == [
        ("room", "succeeded"),
        ("porter", "sent"),
        ("parcel", "pending"),
    ]
    # the porter's wait runs out twice: escalated twice, its deadline pushed each time
    for times in (1, 2):
        await _stay_overdue(db, "e1")
        shown = await engine.get(db, "e1")
        porter = shown["steps"][1]
        assert (shown["state"], porter["status"]) == ("running", "escalated")
        assert porter["detail"]["escalations"] == times
        assert porter["deadline_at"] > utcnow()
        assert escalated[-1] == ("e1", "porter", times)
    assert [t for t, m in await _sent(db) if m.saga_id == "e1"] == ["porter.call"]
    # the third time it fails, and, having perhaps taken effect, is undone before the room
    await _stay_overdue(db, "e1")
    assert [t for t, m in await _sent(db) if m.saga_id == "e1"][1:] == ["porter.gone"]
    assert (await engine.get(db, "e1"))["state"] == "compensating"
    assert await _stay(db, "e1", "room.cancelled")
    assert [t for t, m in await _sent(db) if m.saga_id == "e1"][2:] == ["room.cancel"]
    assert await _stay(db, "e1", "room.cancelled")
    assert (await engine.get(db, "e1"))["state"] == "compensated"


async def test_a_wait_without_end_escalates_and_never_fails(db: Database) -> None:
    await db.transaction(lambda tx: engine.start(tx, STAY, "e2", {}, taken=1))
    assert await _stay(db, "e2", "porter.came")
    for times in range(1, 6):
        await _stay_overdue(db, "e2")
        shown = await engine.get(db, "e2")
        assert (shown["state"], shown["steps"][2]["detail"]["escalations"]) == ("running", times)
    # an escalated step still takes its answer
    assert await _stay(db, "e2", "parcel.sent")
    assert (await engine.get(db, "e2"))["state"] == "completed"


OLD_SAGA = sql(
    "INSERT INTO sagas (id, kind, state, step, data, reason, version, created_at, updated_at)"
    " VALUES (:id, 'trip', 'running', 1, :data, NULL, 3, :at, :at)"
)
OLD_STEP = sql(
    "INSERT INTO saga_steps (saga_id, step_no, name, status, attempts, started_at, finished_at,"
    " deadline_at, detail) VALUES (:id, :no, :name, :status, :attempts, :started, :finished,"
    " :deadline, :detail)"
)


async def test_a_saga_stored_step_by_step_runs_on_after_the_upgrade(database_url: str) -> None:
    """Sagas written before steps moved into their saga's row keep every step, and the
    current step's deadline still brings its command again."""
    await migrate(database_url, "ordering", to="ordering_0008")
    booked = utcnow() - timedelta(minutes=5)
    overdue = utcnow() - timedelta(seconds=5)
    steps = [
        (0, "flight", "succeeded", 1, booked, booked, None, {"event": "flight.booked"}),
        (1, "hotel", "sent", 1, booked, None, overdue, {}),
        (2, "car", "pending", 0, None, None, None, {}),
    ]

    async def write(tx: Tx) -> None:
        await tx.execute(OLD_SAGA, {"id": "u1", "data": {"orderId": "u1"}, "at": booked})
        for no, name, status, attempts, started, finished, deadline, detail in steps:
            row = {"no": no, "name": name, "status": status, "attempts": attempts}
            times = {"started": started, "finished": finished, "deadline": deadline}
            await tx.execute(OLD_STEP, {"id": "u1", **row, **times, "detail": detail})

    old = await open_database(database_url, "ordering")
    try:
        await old.transaction(write)
    finally:
        await old.close()
    await migrate(database_url, "ordering")
    db = await open_database(database_url, "ordering")
    try:
        shown = await engine.get(db, "u1")
        assert (shown["state"], shown["data"]) == ("running", {"order_id": "u1"})
        assert [
            (s["name"], s["status"], s["attempts"], s["started_at"], s["deadline_at"], s["detail"])
            for s in shown["steps"]
        ] == [
            (name, status, n, started, deadline, detail)
            for _, name, status, n, started, _, deadline, detail in steps
        ]
        assert await engine.expire_overdue(db, DEFINITIONS) == 1
        assert [(t, m.saga_id) for t, m in await _sent(db)] == [("hotel.book", "u1")]
        assert await _reply(db, "u1", "hotel.booked")
        assert [t for t, _ in await _sent(db)][-1] == "car.book"
    finally:
        await db.close()
