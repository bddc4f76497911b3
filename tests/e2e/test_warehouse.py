"""Seed 004's warehouse and seed 000's fulfillment, through the operators' HTTP actions, in
both modes: a confirmed pharmacy order joins a wave; released, its pick tasks (one per
allocated lot, FEFO) are confirmed by scanning each unit's GS1 barcode, a scan that does not
fit is refused with its reason and changes nothing; picked, inventory takes the units off
hand; packed, the carrier takes it under an `SHP-…` tracking number; delivered, the order's
fulfillment is complete. An order cancelled before it ships undoes its steps in reverse. A
wait nobody ends is escalated to operators while the order goes on waiting, and the process
killed between any two steps loses and repeats nothing."""

import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from orderly.catalog.ndc import parse
from tests.e2e.b2b import World, b2b_world, order, pharmacy, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import unique
from tests.waiting import eventually

FIRST = ("L100", date(2030, 1, 31))  # expires first: picked first (FEFO)
LATER = ("L200", date(2031, 6, 30))


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # waits on the floor last a second: the ones nobody ends are escalated at once
    waits = {"ORDERLY_FLOOR_WAIT": "1", "ORDERLY_SWEEP_INTERVAL": "0.2"}
    with b2b_world(request.param, tmp_path_factory.mktemp("warehouse"), **waits) as running:
        yield running


def barcode(gtin: str, lot: str, expires: date, serial: str) -> str:
    """A unit's GS1 element string as printed under its DataMatrix."""
    return f"(01){gtin}(17){expires:%y%m%d}(10){lot}(21){serial}"


async def scanned_product(world: World) -> tuple[str, str]:
    """A product with an NDC (so a GTIN to scan), five units in each of two lots at MAIN;
    its id and GTIN."""
    labeler, code, package = (random.randrange(10**n, 10 ** (n + 1)) for n in (3, 3, 1))
    ndc = f"{labeler}-{code}-{package}"
    body = {
        "name": f"Atorvastatin {unique('mg')}",
        "sku": unique("WH"),
        "price": "3.00",
        "ndc": ndc,
    }
    ops = world.ops(world.deployed.catalog)
    created = await ops.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    inventory = world.ops(world.deployed.inventory)
    for lot, expires in (FIRST, LATER):

        async def received(lot: str = lot, expires: date = expires) -> bool:
            receipt = {"quantity": 5, "lot": lot, "expires_on": expires.isoformat(), "dc": "MAIN"}
            answer = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
            return answer.status_code == 201

        await eventually(received)  # inventory learns of the product from product.created
    compliance = world.ops(world.deployed.compliance)

    async def known() -> bool:
        answer = await compliance.get(f"/api/v1/compliance/products/{product_id}")
        return answer.status_code == 200

    await eventually(known)
    return product_id, parse(ndc).gtin


async def wave_of(ops: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        for wave in (await ops.get("/api/v1/waves", params={"status": "OPEN"})).json():
            shown = (await ops.get(f"/api/v1/waves/{wave['id']}")).json()
            if order_id in shown["order_ids"]:
                return dict(shown)
        return None

    return await eventually(found)


async def tasks_of(ops: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    async def made() -> list[dict[str, Any]] | None:
        tasks = (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json()
        return tasks or None

    return await eventually(made)


async def waiting_to_pack(ops: httpx.AsyncClient, order_id: str) -> None:
    """Once the order is picked and waits to be packed."""

    async def listed() -> bool:
        waiting = (await ops.get("/api/v1/pack-tasks")).json()
        return any(pack["order_id"] == order_id for pack in waiting)

    await eventually(listed)


async def shipped(ops: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """The order's shipment, once the carrier took it."""

    async def found() -> dict[str, Any] | None:
        rows = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return rows[0] if rows and rows[0]["status"] == "SHIPPED" else None

    shipment: dict[str, Any] = await eventually(found)
    return shipment


async def lots_on_hand(world: World, product_id: str) -> dict[str, int]:
    answer = await world.ops(world.deployed.inventory).get(f"/api/v1/inventory/{product_id}")
    assert answer.status_code == 200, answer.text
    return {lot["lot"]: lot["on_hand"] for lot in answer.json()["lots"]}


async def fulfillment(ops: httpx.AsyncClient, order_id: str, state: str) -> dict[str, str]:
    async def read() -> dict[str, str] | None:
        answer = await ops.get(f"/api/v1/fulfillment/orders/{order_id}")
        if answer.status_code != 200 or answer.json()["state"] != state:
            return None
        return {step["name"]: step["status"] for step in answer.json()["steps"]}

    return await eventually(read, within=40)


async def picked_and_waiting_to_pack(
    world: World, ops: httpx.AsyncClient, order_id: str, gtin: str
) -> None:
    wave = await wave_of(ops, order_id)
    released = await ops.post(f"/api/v1/waves/{wave['id']}/release")
    assert released.status_code == 200, released.text
    for task in await tasks_of(ops, order_id):
        for n in range(task["quantity"]):
            unit = barcode(
                gtin, task["lot"], date.fromisoformat(task["expires_on"]), f"{n}{task['id'][:6]}"
            )
            answer = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
            assert answer.status_code == 200, answer.text


async def test_an_order_is_waved_picked_by_scan_packed_shipped_and_delivered(world: World) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 7)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"

    # the confirmed order waits in an open wave of its lane
    wave = await wave_of(ops, order_id)
    assert (wave["dc"], wave["carrier"], wave["status"]) == ("MAIN", "UPS", "OPEN")
    steps = await fulfillment(ops, order_id, "running")
    assert steps["wave"] in ("sent", "escalated")  # escalated once its second is up
    assert steps == {
        "validate": "succeeded",
        "reserve": "succeeded",
        "wave": steps["wave"],
        "pick": "pending",
        "pack": "pending",
        "ship": "pending",
        "deliver": "pending",
    }
    # released, it gets a pick task per allocated lot: the first to expire first
    released = await ops.post(f"/api/v1/waves/{wave['id']}/release")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "RELEASED"
    again = await ops.post(f"/api/v1/waves/{wave['id']}/release")
    assert (again.status_code, again.json()["code"]) == (409, "wave_not_open")
    tasks = {task["lot"]: task for task in await tasks_of(ops, order_id)}
    assert {lot: task["quantity"] for lot, task in tasks.items()} == {"L100": 5, "L200": 2}
    first, later = tasks["L100"], tasks["L200"]

    # scans that do not fit are refused with their reason, and change nothing
    async def refused(task: dict[str, Any], unit: str) -> str:
        answer = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "scan_refused"
        return str(answer.json()["reason"])

    other = parse("0002-0800-01").gtin
    assert await refused(first, barcode(other, "L100", FIRST[1], "X1")) == "wrong_product"
    assert await refused(first, barcode(gtin, "L200", LATER[1], "X1")) == "wrong_lot"
    assert await refused(first, barcode(gtin, "L999", FIRST[1], "X1")) == "lot_not_allocated"
    assert await refused(first, "not a barcode") == "malformed_barcode"
    assert await refused(first, f"(01){gtin}(17)300131(10)L100") == "serial_missing"
    assert (await tasks_of(ops, order_id))[0]["picked"] == 0

    # each unit scanned once: a serial number picked twice is refused
    for n in range(5):
        unit = barcode(gtin, "L100", FIRST[1], f"SN{n}")
        answer = await ops.post(f"/api/v1/pick-tasks/{first['id']}/scan", json={"barcode": unit})
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "PICKED"
    assert answer.json()["serials"] == [f"SN{n}" for n in range(5)]
    unit = barcode(gtin, "L100", FIRST[1], "SN5")
    closed = await ops.post(f"/api/v1/pick-tasks/{first['id']}/scan", json={"barcode": unit})
    assert (closed.status_code, closed.json()["code"]) == (409, "pick_task_closed")
    unit = barcode(gtin, "L200", LATER[1], "SN9")
    assert (
        await ops.post(f"/api/v1/pick-tasks/{later['id']}/scan", json={"barcode": unit})
    ).status_code == 200
    assert await refused(later, unit) == "serial_already_picked"
    assert await lots_on_hand(world, product_id) == {"L100": 5, "L200": 5}  # still on the floor
    unit = barcode(gtin, "L200", LATER[1], "SN10")
    assert (
        await ops.post(f"/api/v1/pick-tasks/{later['id']}/scan", json={"barcode": unit})
    ).status_code == 200

    # picked: inventory takes the units off hand, and the order waits to be packed
    async def taken_off() -> bool:
        return await lots_on_hand(world, product_id) == {"L100": 0, "L200": 3}

    await eventually(taken_off)

    await waiting_to_pack(ops, order_id)
    packed = await ops.post(f"/api/v1/pack-tasks/{order_id}/complete", json={"packages": 2})
    assert packed.status_code == 200, packed.text
    assert (packed.json()["status"], packed.json()["packages"]) == ("PACKED", 2)

    # the carrier takes it under a tracking number of its own
    shipment = await shipped(ops, order_id)
    assert shipment["tracking_number"].startswith("SHP-")
    assert shipment["carrier"] == "UPS"
    assert (await settled(ph.buyer, order_id, "SHIPPED"))["status"] == "SHIPPED"
    # an operator cannot ship it a second way
    twice = await ops.post(
        f"/api/v1/shipments/{shipment['id']}/ship", json={"tracking_number": "1Z", "carrier": "UPS"}
    )
    assert twice.status_code == 409, twice.text

    # delivered: the order is complete
    delivered = await ops.post(
        f"/api/v1/shipments/{shipment['id']}/deliver", json={"delivery_location": "Front desk"}
    )
    assert delivered.status_code == 200, delivered.text
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    assert await fulfillment(ops, order_id, "completed") == {
        "validate": "succeeded",
        "reserve": "succeeded",
        "wave": "succeeded",
        "pick": "succeeded",
        "pack": "succeeded",
        "ship": "succeeded",
        "deliver": "succeeded",
    }


async def test_an_order_cancelled_while_waiting_to_be_packed_is_undone_in_reverse(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 6)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    await picked_and_waiting_to_pack(world, ops, order_id, gtin)

    async def taken_off() -> bool:
        return await lots_on_hand(world, product_id) == {"L100": 0, "L200": 4}

    await eventually(taken_off)

    # when the pharmacy cancels it before it ships
    cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    # then packing, picking and the reservation are undone, last first, and the units are
    # back on their shelves
    steps = await fulfillment(ops, order_id, "compensated")
    assert steps == {
        "validate": "succeeded",
        "reserve": "compensated",
        "wave": "succeeded",
        "pick": "compensated",
        "pack": "compensated",
        "ship": "pending",
        "deliver": "pending",
    }

    async def back() -> bool:
        return await lots_on_hand(world, product_id) == {"L100": 5, "L200": 5}

    await eventually(back)
    packs = (await ops.get("/api/v1/pack-tasks", params={"status": "CANCELLED"})).json()
    assert order_id in [pack["order_id"] for pack in packs]
    found = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()
    assert found[0]["status"] == "CANCELLED"


async def test_a_paid_shop_order_ships_through_the_same_warehouse(world: World) -> None:
    deployed = world.deployed
    ops = world.ops(deployed.fulfillment)
    product_id = await create_product(deployed, unique("SHOP"), 4)  # no NDC: counted
    customer = deployed.ordering.client(deployed.customer()["token"])
    body = {
        "items": [{"product_id": product_id, "quantity": 3}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }

    async def placed() -> str | None:
        answer = await customer.post("/api/v1/orders", json=body)
        return str(answer.json()["order_id"]) if answer.status_code in (201, 202) else None

    order_id = await eventually(placed)
    # paid, it joins a wave like any order
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    [task] = await tasks_of(ops, order_id)
    assert (task["gtin"], task["quantity"]) == (None, 3)
    scanned = await ops.post(
        f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": "(01)00311898071295"}
    )
    assert (scanned.status_code, scanned.json()["code"]) == (409, "count_not_scan")
    too_many = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": 4})
    assert too_many.status_code == 422, too_many.text
    counted = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": 3})
    assert (counted.status_code, counted.json()["status"]) == (200, "PICKED")

    await waiting_to_pack(ops, order_id)
    assert (await ops.post(f"/api/v1/pack-tasks/{order_id}/complete")).status_code == 200
    steps = await fulfillment(ops, order_id, "running")

    shipment = await shipped(ops, order_id)
    assert shipment["tracking_number"].startswith("SHP-")
    assert set(steps) == {"validate", "reserve", "wave", "pick", "pack", "ship", "deliver"}


async def test_a_shelf_that_runs_out_closes_its_pick_short_and_the_order_goes_on(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 4)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    [task] = await tasks_of(ops, order_id)
    assert (task["lot"], task["quantity"]) == ("L100", 4)
    unit = barcode(gtin, "L100", FIRST[1], "ONLY")
    assert (
        await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
    ).status_code == 200

    # the shelf holds one unit where four were counted: the pick closes short
    short = await ops.post(f"/api/v1/pick-tasks/{task['id']}/short")
    assert short.status_code == 200, short.text
    assert (short.json()["status"], short.json()["picked"], short.json()["short"]) == (
        "SHORT",
        1,
        3,
    )
    again = await ops.post(f"/api/v1/pick-tasks/{task['id']}/short")
    assert (again.status_code, again.json()["code"]) == (409, "pick_task_closed")

    # the order's picking is complete: inventory takes off hand the unit picked and the three
    # the shelf never had, and the order waits to be packed
    async def counted() -> bool:
        return await lots_on_hand(world, product_id) == {"L100": 1, "L200": 5}

    await eventually(counted)
    assert (await fulfillment(ops, order_id, "running"))["pick"] == "succeeded"


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
    assert {step["name"]: step["status"] for step in shown["steps"]}["wave"] == "escalated"
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

    await waiting_to_pack(ops, order_id)
    restart(world)
    assert (await ops.post(f"/api/v1/pack-tasks/{order_id}/complete")).status_code == 200
    restart(world)

    shipment = await shipped(ops, order_id)
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
