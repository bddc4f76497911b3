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
    overdue = sql("UPDATE saga_steps SET deadline_at = :at WHERE saga_id = 's3' AND step_no = 1")
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
