"""An order's fulfillment survives its process being killed between any two of its steps, in
both modes; a wait that runs out is escalated to an operator and the order goes on waiting."""

from collections.abc import Iterator
from datetime import date

import pytest

from tests.e2e.b2b import World, b2b_world, order, pharmacy, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_warehouse import (
    barcode,
    fulfillment,
    lots_on_hand,
    scanned_product,
    tasks_of,
    wave_of,
)
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # waits on the floor last a second: the ones nobody ends are escalated at once
    waits = {"ORDERLY_FLOOR_WAIT": "1", "ORDERLY_SWEEP_INTERVAL": "0.2"}
    with b2b_world(request.param, tmp_path_factory.mktemp("waits"), **waits) as running:
        yield running


def restart(world: World) -> None:
    """Kill the process serving fulfillment (every context, embedded) and start it again."""
    server = world.deployed.fulfillment
    server.kill()
    server.start().wait_ready()


async def test_a_wait_nobody_ends_is_escalated_and_the_order_still_goes_on(world: World) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 2)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(ops, order_id)

    # its wave is not released in time: operators see the escalation, the order still waits
    async def escalated() -> list[dict[str, object]] | None:
        listed = (await ops.get("/api/v1/fulfillment/escalations")).json()
        mine = [e for e in listed if e["order_id"] == order_id]
        return mine if mine and int(mine[0]["times"]) >= 2 else None

    [seen] = await eventually(escalated)
    assert seen["step"] == "wave"
    shown = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
    assert shown["state"] == "running"
    assert shown["steps"][1]["status"] == "escalated"
    # released late, it goes on, and nothing is left for operators to look at
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    await tasks_of(ops, order_id)
    listed = (await ops.get("/api/v1/fulfillment/escalations")).json()
    assert order_id not in {e["order_id"] for e in listed if e["step"] == "wave"}


async def test_a_restart_between_every_two_steps_loses_nothing_and_repeats_nothing(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 6)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    await wave_of(ops, order_id)
    restart(world)

    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    restart(world)

    tasks = await tasks_of(ops, order_id)
    assert sorted(task["quantity"] for task in tasks) == [1, 5]
    for task in tasks:
        for n in range(task["quantity"]):
            expires = task["expires_on"]
            unit = barcode(gtin, task["lot"], date.fromisoformat(expires), f"R{n}")
            answer = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
            assert answer.status_code == 200, answer.text
        restart(world)

    async def to_pack() -> bool:
        waiting = (await ops.get("/api/v1/pack-tasks")).json()
        return any(pack["order_id"] == order_id for pack in waiting)

    await eventually(to_pack)
    restart(world)
    assert (await ops.post(f"/api/v1/pack-tasks/{order_id}/complete")).status_code == 200
    restart(world)

    async def shipped() -> dict[str, object] | None:
        found = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return found[0] if found and found[0]["status"] == "SHIPPED" else None

    shipment = await eventually(shipped)
    restart(world)
    delivered = await ops.post(
        f"/api/v1/shipments/{shipment['id']}/deliver", json={"delivery_location": "Back door"}
    )
    assert delivered.status_code == 200, delivered.text
    restart(world)
    steps = await fulfillment(ops, order_id, "completed")
    assert set(steps.values()) == {"succeeded"}
    # one pick task per lot, one shipment, and the units taken off hand once
    assert len(await tasks_of(ops, order_id)) == 2
    assert len((await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()) == 1
    assert await lots_on_hand(world, product_id) == {"L100": 0, "L200": 4}
