"""Seed 004's split shipments, through the operators' HTTP actions, in both modes: an order
whose lines ship from two distribution centres joins a wave in each and goes to its picks
once both are released; it is packed in each, and the carrier takes a shipment from each
under a tracking number of its own, each mailed to the pharmacy; the order is delivered,
and its fulfillment complete, with its last shipment. Cancelled between its waves, it
leaves the wave still open and both its shipments are cancelled, the stock back in both
centres."""

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from orderly.catalog.ndc import parse
from tests.e2e.b2b import World, b2b_world, order, pharmacy, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_warehouse import barcode, fulfillment, lots_on_hand, restart, tasks_of
from tests.e2e.wire import Wire, tapped
from tests.services import unique
from tests.waiting import eventually

EXPIRES = date(2031, 3, 31)
AT_DESK = {"delivery_location": "Front desk"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with b2b_world(request.param, tmp_path_factory.mktemp("split")) as running:
        yield running


async def centre(world: World) -> str:
    """A new distribution centre (no controlled substances, every state): its code."""
    code = f"DC-{uuid.uuid4().hex[:8].upper()}"
    ops = world.ops(world.deployed.inventory)
    made = await ops.post("/api/v1/inventory/dcs", json={"code": code, "name": "East"})
    assert made.status_code == 201, made.text
    return code


async def stocked_at(world: World, dc: str, lot: str, units: int) -> tuple[str, str]:
    """A product with an NDC (a GTIN to scan), `units` of lot `lot` at `dc` only: its id and
    GTIN."""
    labeler, code, package = (random.randrange(10**n, 10 ** (n + 1)) for n in (3, 3, 1))
    ndc = f"{labeler}-{code}-{package}"
    body = {"name": f"Lisinopril {unique('mg')}", "sku": unique("SP"), "price": "2.00", "ndc": ndc}
    created = await world.ops(world.deployed.catalog).post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    inventory = world.ops(world.deployed.inventory)
    receipt = {"quantity": units, "lot": lot, "expires_on": EXPIRES.isoformat(), "dc": dc}

    async def received() -> bool:  # inventory learns of the product from product.created
        answer = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        return answer.status_code == 201

    await eventually(received)
    compliance = world.ops(world.deployed.compliance)

    async def known() -> bool:
        answer = await compliance.get(f"/api/v1/compliance/products/{product_id}")
        return answer.status_code == 200

    await eventually(known)
    return product_id, parse(ndc).gtin


async def waves_of(ops: httpx.AsyncClient, order_id: str, n: int) -> dict[str, dict[str, Any]]:
    """The `n` open waves the order waits in, by distribution centre."""

    async def found() -> dict[str, dict[str, Any]] | None:
        joined = {}
        for wave in (await ops.get("/api/v1/waves", params={"status": "OPEN"})).json():
            shown = (await ops.get(f"/api/v1/waves/{wave['id']}")).json()
            if order_id in shown["order_ids"]:
                joined[shown["dc"]] = shown
        return joined if len(joined) == n else None

    return await eventually(found)


async def steps_now(ops: httpx.AsyncClient, order_id: str) -> dict[str, str]:
    answer = await ops.get(f"/api/v1/fulfillment/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return {step["name"]: step["status"] for step in answer.json()["steps"]}


async def shipments(ops: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    answer = await ops.get("/api/v1/shipments", params={"order_id": order_id})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


async def split_order(world: World) -> tuple[str, dict[str, tuple[str, str]], Any]:
    """A confirmed pharmacy order of one product stocked only at MAIN and one only at a new
    centre: its id, {dc: (product, GTIN)} and the pharmacy."""
    east = await centre(world)
    main_product = await stocked_at(world, "MAIN", "M100", 5)
    east_product = await stocked_at(world, east, "E100", 4)
    ph = pharmacy(world)
    order_id = (await order(ph, [(main_product[0], 3), (east_product[0], 2)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    return order_id, {"MAIN": main_product, east: east_product}, ph


async def pick_all(ops: httpx.AsyncClient, task: dict[str, Any], gtin: str) -> None:
    for n in range(task["quantity"]):
        unit = barcode(gtin, task["lot"], EXPIRES, f"{n}{task['id'][:8]}")
        answer = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
        assert answer.status_code == 200, answer.text


async def test_an_order_from_two_centres_ships_as_two_shipments(world: World) -> None:
    async with tapped(world.deployed.backend) as wire:
        await two_shipments(world, wire)


async def updates(wire: Wire, order_id: str, kind: str, n: int) -> list[dict[str, Any]]:
    """The order's `kind` messages on the wire, once there are `n`."""

    async def heard() -> list[dict[str, Any]] | None:
        found = [e["data"] for e in await wire.events(order_id) if e["event_type"] == kind]
        return found if len(found) >= n else None

    return await eventually(heard)


async def two_shipments(world: World, wire: Wire) -> None:
    ops = world.ops(world.deployed.fulfillment)
    order_id, products, ph = await split_order(world)
    east = next(dc for dc in products if dc != "MAIN")

    # it waits in a wave of each centre's lane, with that centre's line
    waves = await waves_of(ops, order_id, 2)
    assert set(waves) == {"MAIN", east}
    assert (waves["MAIN"]["lines"], waves[east]["lines"]) == (1, 1)
    parts = await shipments(ops, order_id)
    assert [(part["part"], part["dc"]) for part in parts] == [(0, "MAIN"), (1, east)]
    assert [part["items"] for part in parts] == [
        [{"product_id": products["MAIN"][0], "quantity": 3}],
        [{"product_id": products[east][0], "quantity": 2}],
    ]

    # one wave out is not enough: it goes to its picks with its last
    released = await ops.post(f"/api/v1/waves/{waves['MAIN']['id']}/release")
    assert released.status_code == 200, released.text
    assert (await steps_now(ops, order_id))["wave"] != "succeeded"
    released = await ops.post(f"/api/v1/waves/{waves[east]['id']}/release")
    assert released.status_code == 200, released.text
    tasks = {task["dc"]: task for task in await tasks_of(ops, order_id)}
    assert {dc: (task["lot"], task["quantity"]) for dc, task in tasks.items()} == {
        "MAIN": ("M100", 3),
        east: ("E100", 2),
    }
    assert {dc: task["wave_id"] for dc, task in tasks.items()} == {
        dc: wave["id"] for dc, wave in waves.items()
    }
    for dc, task in tasks.items():
        await pick_all(ops, task, products[dc][1])

    async def taken_off() -> bool:
        return [await lots_on_hand(world, products[dc][0]) for dc in ("MAIN", east)] == [
            {"M100": 2},
            {"E100": 2},
        ]

    await eventually(taken_off)

    # packed in each centre: an operator says which
    async def packing() -> list[str] | None:
        waiting = (await ops.get("/api/v1/pack-tasks")).json()
        dcs = sorted(pack["dc"] for pack in waiting if pack["order_id"] == order_id)
        return dcs if len(dcs) == 2 else None

    assert await eventually(packing) == sorted(["MAIN", east])
    which = await ops.post(f"/api/v1/pack-tasks/{order_id}/complete", json={"packages": 1})
    assert (which.status_code, which.json()["code"]) == (409, "pack_dc_needed")
    path = f"/api/v1/pack-tasks/{order_id}/complete"
    packed = await ops.post(path, json={"packages": 2, "dc": "MAIN"})
    assert packed.status_code == 200, packed.text
    assert (packed.json()["dc"], packed.json()["status"]) == ("MAIN", "PACKED")
    assert (await steps_now(ops, order_id))["pack"] != "succeeded"
    again = await ops.post(path, json={"dc": "MAIN"})
    assert (again.status_code, again.json()["code"]) == (409, "pack_not_open")
    assert (await ops.post(path, json={"dc": east})).status_code == 200

    # the carrier takes each centre's shipment under a tracking number of its own
    async def both_shipped() -> list[dict[str, Any]] | None:
        rows = await shipments(ops, order_id)
        return rows if all(row["status"] == "SHIPPED" for row in rows) else None

    sent = await eventually(both_shipped)
    numbers = [row["tracking_number"] for row in sent]
    assert len(set(numbers)) == 2
    assert all(n.startswith("SHP-") for n in numbers)
    assert (await settled(ph.buyer, order_id, "SHIPPED"))["status"] == "SHIPPED"
    for number in numbers:  # the pharmacy is mailed each
        await world.mail.arrived(number)
    view = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
    assert [row["tracking_number"] for row in view["shipments"]] == numbers

    # the first delivered is news of its own; the order is delivered with the last
    first = await ops.post(f"/api/v1/shipments/{sent[0]['id']}/deliver", json=AT_DESK)
    assert first.status_code == 200, first.text
    assert (await steps_now(ops, order_id))["deliver"] != "succeeded"
    last = await ops.post(f"/api/v1/shipments/{sent[1]['id']}/deliver", json=AT_DESK)
    assert last.status_code == 200, last.text
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    finished = await fulfillment(ops, order_id, "completed")
    assert set(finished.values()) == {"succeeded"}

    # on the wire: each part shipped and delivered, and seed 001's word of the order
    # delivered once, with its last
    arrived = await updates(wire, order_id, "fulfillment.delivered", 2)
    assert [event["shipmentId"] for event in arrived] == [row["id"] for row in sent]
    told = await updates(wire, order_id, "order.status_updated", 3)
    assert [(u["current_status"], u.get("tracking_number")) for u in told] == [
        ("SHIPPED", numbers[0]),
        ("SHIPPED", numbers[1]),
        ("DELIVERED", None),
    ]


async def test_its_centres_packed_and_its_parts_delivered_at_once_complete_it(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    order_id, products, ph = await split_order(world)
    waves = await waves_of(ops, order_id, 2)
    releases = [ops.post(f"/api/v1/waves/{wave['id']}/release") for wave in waves.values()]
    assert [answer.status_code for answer in await asyncio.gather(*releases)] == [200, 200]
    tasks = await tasks_of(ops, order_id)
    await asyncio.gather(*(pick_all(ops, task, products[task["dc"]][1]) for task in tasks))

    async def packing() -> list[str] | None:
        waiting = (await ops.get("/api/v1/pack-tasks")).json()
        dcs = [pack["dc"] for pack in waiting if pack["order_id"] == order_id]
        return dcs if len(dcs) == 2 else None

    path = f"/api/v1/pack-tasks/{order_id}/complete"
    packs = [ops.post(path, json={"dc": dc}) for dc in await eventually(packing)]
    assert [answer.status_code for answer in await asyncio.gather(*packs)] == [200, 200]

    async def both_shipped() -> list[dict[str, Any]] | None:
        rows = await shipments(ops, order_id)
        return rows if all(row["status"] == "SHIPPED" for row in rows) else None

    sent = await eventually(both_shipped)
    deliveries = [ops.post(f"/api/v1/shipments/{row['id']}/deliver", json=AT_DESK) for row in sent]
    assert [answer.status_code for answer in await asyncio.gather(*deliveries)] == [200, 200]
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    assert set((await fulfillment(ops, order_id, "completed")).values()) == {"succeeded"}


async def test_an_order_cancelled_between_its_waves_leaves_both_and_gives_back_all(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    order_id, products, ph = await split_order(world)
    east = next(dc for dc in products if dc != "MAIN")
    waves = await waves_of(ops, order_id, 2)
    released = await ops.post(f"/api/v1/waves/{waves['MAIN']['id']}/release")
    assert released.status_code == 200, released.text

    cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    # the wave still open lets it go; its shipments are cancelled; the stock is back
    async def left() -> bool:
        shown = (await ops.get(f"/api/v1/waves/{waves[east]['id']}")).json()
        return order_id not in shown["order_ids"] and shown["lines"] == 0

    await eventually(left)
    finished = await fulfillment(ops, order_id, "compensated")
    assert finished["reserve"] == "compensated"

    async def all_cancelled() -> bool:
        rows = await shipments(ops, order_id)
        return len(rows) == 2 and all(row["status"] == "CANCELLED" for row in rows)

    await eventually(all_cancelled)
    inventory = world.ops(world.deployed.inventory)

    async def given_back() -> bool:
        for dc, (product_id, _) in products.items():
            found = (await inventory.get(f"/api/v1/inventory/{product_id}")).json()
            held = {lot["dc"]: lot["reserved"] for lot in found["lots"]}
            if held != {dc: 0}:
                return False
        return True

    await eventually(given_back)


async def test_a_pharmacys_backorder_cancelled_is_credited_on_its_sales_order(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await stocked_at(world, "MAIN", "C100", 2)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 2)]))["order_id"]
    confirmed = await settled(ph.buyer, order_id)
    assert confirmed["status"] == "CONFIRMED"
    [wave] = (await waves_of(ops, order_id, 1)).values()
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    [task] = await tasks_of(ops, order_id)

    # the shelf has one unit of two: picked short, the other backordered
    unit = barcode(gtin, "C100", EXPIRES, "ONE")
    scanned = await ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"barcode": unit})
    assert scanned.status_code == 200, scanned.text
    assert (await ops.post(f"/api/v1/pick-tasks/{task['id']}/short")).status_code == 200

    async def backordered() -> dict[str, Any] | None:
        shown = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
        return shown["backorders"][0] if shown.get("backorders") else None

    backorder = await eventually(backordered)

    # when an operator cancels it, the pharmacy's sales order is credited the unit, once
    cancelled = await ops.post(f"/api/v1/backorders/{backorder['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    async def credited() -> list[dict[str, Any]] | None:
        return world.erp.orders(order_id).get("credits") or None

    [memo] = await eventually(credited)
    assert (memo["Material"], memo["RequestedQuantity"], memo["NetAmount"]) == (
        product_id,
        "1",
        "2.00",
    )
    assert memo["calls"] == 1
    assert world.erp.orders(order_id)["number"] == confirmed["sales_order_number"]


async def test_a_split_order_killed_between_its_centres_steps_loses_and_repeats_nothing(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    order_id, products, ph = await split_order(world)
    east = next(dc for dc in products if dc != "MAIN")
    waves = await waves_of(ops, order_id, 2)
    assert (await ops.post(f"/api/v1/waves/{waves['MAIN']['id']}/release")).status_code == 200
    restart(world)
    # its other wave out after the restart, it goes to its picks in both centres
    assert (await ops.post(f"/api/v1/waves/{waves[east]['id']}/release")).status_code == 200
    tasks = await tasks_of(ops, order_id)
    assert sorted(task["dc"] for task in tasks) == sorted(["MAIN", east])
    for task in tasks:
        await pick_all(ops, task, products[task["dc"]][1])
    restart(world)
    path = f"/api/v1/pack-tasks/{order_id}/complete"

    async def packable(dc: str) -> bool:
        return (await ops.post(path, json={"dc": dc})).status_code == 200

    await eventually(lambda: packable("MAIN"))
    restart(world)
    await eventually(lambda: packable(east))

    async def both_shipped() -> list[dict[str, Any]] | None:
        rows = await shipments(ops, order_id)
        return rows if all(row["status"] == "SHIPPED" for row in rows) else None

    sent = await eventually(both_shipped)
    restart(world)
    for row in sent:
        delivered = await ops.post(f"/api/v1/shipments/{row['id']}/deliver", json=AT_DESK)
        assert delivered.status_code == 200, delivered.text
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    assert set((await fulfillment(ops, order_id, "completed")).values()) == {"succeeded"}
    # each part shipped once, under one number
    again = await shipments(ops, order_id)
    assert [row["tracking_number"] for row in again] == [row["tracking_number"] for row in sent]
