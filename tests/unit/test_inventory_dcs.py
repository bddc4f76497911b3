"""Distribution centres' DEA registrations and state licences, through inventory's consumers
(`tests/bus.py`): a saga's `inventory.reserve` takes a controlled line only from a DC that
may ship it to the order's state; a replayed checkout reserves again; blocked lots are never
taken. What counts is what is left: reservations and the answers in the outbox."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from itertools import count
from typing import Any

import pytest
import pytest_asyncio

from orderly.inventory import service
from orderly.inventory.context import CONTEXT
from orderly.inventory.domain import InvalidStock, LotStatus
from orderly.inventory.messages import (
    InventoryInsufficient,
    ReleaseInventory,
    ReserveInventory,
    Units,
)
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, new_message
from tests.bus import Bus, consumers_of
from tests.messages import product_created

pytestmark = pytest.mark.asyncio(loop_scope="module")

_dcs = count(1)
SOON = date.today() + timedelta(days=200)
LATER = date.today() + timedelta(days=400)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bus(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bus]:
    async with consumers_of(CONTEXT, tmp_path_factory.mktemp("dcs")) as running:
        yield running


async def dc(bus: Bus, prefix: str, schedules: list[str], states: list[str] | None) -> str:
    code = f"{prefix}-{next(_dcs)}"
    await service.create_dc(bus.db, code, f"DC {code}", schedules, states)
    return code


async def product(bus: Bus, *lots: tuple[str, int]) -> str:
    """A product with no initial stock, and these (DC, units) received, one lot each."""
    product_id = new_id()
    await bus.deliver(product_created(product_id, product_id[:8]))
    for n, (where, units) in enumerate(lots):
        receipt = service.Receipt(product_id, units, f"L{n}", LATER, where)
        await service.receive(bus.db, receipt)
    return product_id


def reserve(
    order_id: str,
    items: dict[str, int],
    schedules: dict[str, str],
    state: str | None = "PA",
    run: int = 1,
) -> Envelope:
    body = ReserveInventory(
        order_id=order_id,
        items=[Units(product_id=p, quantity=q) for p, q in items.items()],
        ship_to_state=state,
        schedules=schedules,
        run=run,
    )
    return new_message(body, source="ordering", aggregate_id=order_id, saga_id=f"saga-{order_id}")


async def answers(bus: Bus, order_id: str) -> list[Envelope]:
    return await bus.published(order_id, "inventory.reserved", "inventory.insufficient")


async def answer(bus: Bus, command: Envelope) -> dict[str, Any]:
    """Deliver the command; the answer it got (the last for its order)."""
    assert await bus.deliver(command) == 1
    last = (await answers(bus, command.aggregate_id))[-1]
    assert last.saga_id == command.saga_id
    if last.type == InventoryInsufficient.TYPE:  # as a consumer reads it (the default left out)
        return {"type": last.type, **last.data, "reason": last.read(InventoryInsufficient).reason}
    return {"type": last.type, **last.data}


async def reserved_units(bus: Bus, product_id: str) -> dict[str, int]:
    """Hard-reserved units per DC."""
    position = await service.position(bus.db, product_id)
    return {d["dc"]: d["hard_reserved"] for d in position["dcs"] if d["hard_reserved"]}


async def test_a_controlled_line_is_reserved_only_where_it_may_be_shipped_from(bus: Bus) -> None:
    # given stock in a DC not registered for schedule II (first by code) and in one that is
    unregistered = await dc(bus, "A", ["3", "3N", "4", "5"], None)
    registered = await dc(bus, "B", ["2", "2N"], ["PA", "NJ"])
    drug = await product(bus, (unregistered, 50), (registered, 10))

    told = await answer(bus, reserve(new_id(), {drug: 4}, {drug: "CII"}))

    assert told["type"] == "inventory.reserved"
    assert [line["dc"] for line in told["items"]] == [registered]
    assert await reserved_units(bus, drug) == {registered: 4}


async def test_stock_only_where_it_may_not_be_shipped_from_is_no_licensed_dc(bus: Bus) -> None:
    # given a DC registered for the schedule but licensed for other states
    elsewhere = await dc(bus, "C", ["2", "2N", "3", "3N", "4", "5"], ["NY"])
    drug = await product(bus, (elsewhere, 20))

    told = await answer(bus, reserve(new_id(), {drug: 2}, {drug: "CII"}, "PA"))

    assert told["type"] == "inventory.insufficient"
    assert told["reason"] == "no_licensed_dc"
    assert told["items"] == [{"productId": drug, "requested": 2, "available": 0}]
    assert await reserved_units(bus, drug) == {}
    # an order without a ship-to state is shipped only by a DC licensed for every state
    unknown_state = await answer(bus, reserve(new_id(), {drug: 2}, {drug: "CII"}, None))
    assert unknown_state["reason"] == "no_licensed_dc"

    # once the DC is licensed for the state, the next order is reserved there
    changed = await service.change_dc(bus.db, elsewhere, states=["NY", "PA"], states_named=True)
    assert changed["licensed_states"] == ["NY", "PA"]
    again = await answer(bus, reserve(new_id(), {drug: 2}, {drug: "CII"}, "PA"))
    assert again["type"] == "inventory.reserved"


async def test_short_stock_where_it_may_be_shipped_from_is_insufficient_stock(bus: Bus) -> None:
    registered = await dc(bus, "D", ["4"], None)
    drug = await product(bus, (registered, 3))
    plain = await product(bus, (registered, 1))

    told = await answer(bus, reserve(new_id(), {drug: 5, plain: 1}, {drug: "CIV"}))

    assert told["type"] == "inventory.insufficient"
    assert told["reason"] == "insufficient_stock"
    assert told["items"] == [{"productId": drug, "requested": 5, "available": 3}]


async def test_a_line_without_a_schedule_is_reserved_in_any_dc(bus: Bus) -> None:
    unregistered = await dc(bus, "E", [], ["NY"])
    plain = await product(bus, (unregistered, 5))

    told = await answer(bus, reserve(new_id(), {plain: 5}, {plain: ""}, "PA"))

    assert told["type"] == "inventory.reserved"
    assert told["items"][0]["dc"] == unregistered


async def test_an_unknown_schedule_is_never_reserved(bus: Bus) -> None:
    everything = await dc(bus, "F", ["2", "2N", "3", "3N", "4", "5"], None)
    drug = await product(bus, (everything, 5))

    told = await answer(bus, reserve(new_id(), {drug: 1}, {drug: "CI"}))

    assert (told["type"], told["reason"]) == ("inventory.insufficient", "no_licensed_dc")


async def test_a_repeated_reserve_answers_the_same_and_reserves_once(bus: Bus) -> None:
    registered = await dc(bus, "G", ["2", "2N"], None)
    drug = await product(bus, (registered, 6))
    order_id = new_id()

    first = await answer(bus, reserve(order_id, {drug: 4}, {drug: "CII"}))
    # the saga's timeout sends the command again (a new message)
    second = await answer(bus, reserve(order_id, {drug: 4}, {drug: "CII"}))

    assert first["type"] == second["type"] == "inventory.reserved"
    assert first["items"] == second["items"]
    assert await reserved_units(bus, drug) == {registered: 4}


async def test_a_replayed_checkout_reserves_again_after_its_release(bus: Bus) -> None:
    registered = await dc(bus, "H", ["5"], None)
    drug = await product(bus, (registered, 6))
    order_id = new_id()
    late = reserve(order_id, {drug: 4}, {drug: "CV"})  # run 1's, delivered after the release
    assert (await answer(bus, reserve(order_id, {drug: 4}, {drug: "CV"})))["type"] == (
        "inventory.reserved"
    )
    release = ReleaseInventory(order_id=order_id, reason="compensation")
    await bus.deliver(new_message(release, source="ordering", aggregate_id=order_id))
    assert await reserved_units(bus, drug) == {}

    # the first run's command, late, does not make it again
    stale = await answer(bus, late)
    assert stale["type"] == "inventory.insufficient"
    assert await reserved_units(bus, drug) == {}

    # the operator's replay runs the saga again (run 2): reserved again, and counted once
    replayed = await answer(bus, reserve(order_id, {drug: 4}, {drug: "CV"}, run=2))
    assert replayed["type"] == "inventory.reserved"
    assert await reserved_units(bus, drug) == {registered: 4}
    repeated = await answer(bus, reserve(order_id, {drug: 4}, {drug: "CV"}, run=2))
    assert repeated["items"] == replayed["items"]
    assert await reserved_units(bus, drug) == {registered: 4}


async def test_blocked_lots_are_never_reserved(bus: Bus) -> None:
    registered = await dc(bus, "I", ["2", "2N"], None)
    drug = new_id()
    await bus.deliver(product_created(drug, drug[:8]))
    # the lot that expires first is quarantined; the other is released
    first = await service.receive(bus.db, service.Receipt(drug, 5, "Q1", SOON, registered))
    await service.receive(bus.db, service.Receipt(drug, 3, "R1", LATER, registered))
    await service.set_lot_status(bus.db, first["lot_id"], LotStatus.QUARANTINED)

    told = await answer(bus, reserve(new_id(), {drug: 3}, {drug: "CII"}))
    assert told["type"] == "inventory.reserved"
    assert [lot["lot"] for lot in told["items"][0]["lots"]] == ["R1"]

    # what is left is quarantined only: nothing is reserved from it
    short = await answer(bus, reserve(new_id(), {drug: 1}, {drug: "CII"}))
    assert (short["type"], short["reason"]) == ("inventory.insufficient", "insufficient_stock")
    assert short["items"] == [{"productId": drug, "requested": 1, "available": 0}]


async def test_dc_registrations_are_checked(bus: Bus) -> None:
    with pytest.raises(InvalidStock):
        await service.create_dc(bus.db, f"J-{next(_dcs)}", "J", ["1"], None)
    with pytest.raises(InvalidStock):
        await service.create_dc(bus.db, f"K-{next(_dcs)}", "K", [], ["pa"])
    with pytest.raises(service.DcNotFound):
        await service.change_dc(bus.db, "NOWHERE", name="x")
    made = await service.create_dc(bus.db, f"L-{next(_dcs)}", "L", ["5", "4", "5"], ["PA"])
    assert (made["dea_schedules"], made["licensed_states"]) == (["4", "5"], ["PA"])
    # named fields change, the others stay; null states: every state
    changed = await service.change_dc(bus.db, made["code"], states=None, states_named=True)
    assert (changed["dea_schedules"], changed["licensed_states"]) == (["4", "5"], None)
    [main] = [d for d in await service.list_dcs(bus.db) if d["code"] == "MAIN"]
    assert main["dea_schedules"] == ["2", "2N", "3", "3N", "4", "5"]
    assert main["licensed_states"] is None
