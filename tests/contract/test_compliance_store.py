"""Compliance's statements on every database: a check decided once, held, released with the
saga answered, and voided; SOM history and settings read back."""

from collections.abc import AsyncIterator

import pytest

from orderly.compliance import holds, monitoring
from orderly.compliance.context import CONTEXT
from orderly.compliance.messages import ComplianceHeld, CompliancePassed, ComplianceVoided
from orderly.compliance.som import SomSettings
from orderly.kernel.ids import new_id
from orderly.storage import open_database
from orderly.storage.migrations import migrate
from tests.bus import Bus
from tests.unit.test_compliance_handlers import (
    baseline,
    check,
    decisions,
    known_account,
    product_created,
    void,
)


@pytest.fixture
async def bus(database_url: str) -> AsyncIterator[Bus]:
    await migrate(database_url, "compliance")
    db = await open_database(database_url, "compliance")
    try:
        yield Bus(CONTEXT, db)
    finally:
        await db.close()


async def test_a_held_order_is_released_once_and_its_run_voided(bus: Bus) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Oxycodone 5mg", "CIV"))
    await baseline(bus, account_id, "oxycodone", [20, 20, 20, 20, 20, 20])
    await monitoring.set_settings(bus.db, account_id, "oxycodone", SomSettings(first_order=True))
    await bus.deliver(check(order_id, account_id, [(product_id, 100)], saga_id="saga-2"))
    await bus.deliver(check(order_id, account_id, [(product_id, 100)], saga_id="saga-2"))
    held, again = await bus.published(order_id)
    assert held.data == again.data
    hold_id = held.read(ComplianceHeld).hold_id
    assert [h["id"] for h in await holds.list_holds(bus.db, "open")] == [hold_id]
    released = await holds.release_hold(bus.db, hold_id, "op-1", "diligence done")
    assert released["status"] == "released"
    with pytest.raises(holds.HoldAlreadyDecided):
        await holds.release_hold(bus.db, hold_id, "op-1", "twice")
    passed = (await bus.published(order_id))[-1]
    assert (passed.type, passed.saga_id) == (CompliancePassed.TYPE, "saga-2")
    # the released order is history now: a like order the same day is not a first order
    other = new_id()
    await bus.deliver(check(other, account_id, [(product_id, 1)]))
    assert (await bus.published(other))[0].read(ComplianceHeld).rule == "som_size"
    await bus.deliver(void(order_id))
    assert (await bus.published(order_id))[-1].type == ComplianceVoided.TYPE
    rows = await decisions(bus, order_id)
    assert [r["decision"] for r in rows] == ["held", "released"]
    assert all(r["voided_at"] is not None for r in rows)
    trail = await holds.order_decisions(bus.db, order_id)
    assert trail[1]["inputs"]["note"] == "diligence done"
