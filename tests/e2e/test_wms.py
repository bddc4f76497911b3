"""Fulfillment through an external WMS (`ORDERLY_WMS_URL`), proven against a simulated one
running as a process of its own (`orderly wms-sim`), in both modes: a released order is sent
to the WMS once; the WMS picks, packs, ships and delivers it by itself and tells Orderly each
step, which moves the order's fulfillment and stock as the own floor does; units it reports
short are backordered as the own floor's short pick's are (and a report short of more than
it was sent is refused); an order cancelled before it ships is cancelled at the WMS too."""

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.b2b import World, b2b_world, order, pharmacy, settled
from tests.e2e.conftest import BACKENDS, SERVICE_KEY
from tests.e2e.server import free_port
from tests.e2e.test_warehouse import fulfillment, lots_on_hand, scanned_product, wave_of
from tests.e2e.wire import Wire, tapped
from tests.waiting import eventually


@dataclass
class Wms:
    url: str

    def orders(self) -> dict[str, dict[str, Any]]:
        listed = httpx.get(f"{self.url}/sim/orders").json()
        return {entry["order_id"]: entry for entry in listed}

    def configure(self, **settings: object) -> None:
        httpx.post(f"{self.url}/sim/config", json=settings).raise_for_status()


@pytest.fixture(scope="module")
def wms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wms]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("wms")) / "wms-sim.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderly", "wms-sim", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the WMS simulator did not start"
                time.sleep(0.05)
        yield Wms(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, wms: Wms
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("external")
    with b2b_world(request.param, tmp, ORDERLY_WMS_URL=wms.url) as running:
        wms.configure(
            callback_url=running.deployed.fulfillment.url, service_key=SERVICE_KEY, step_ms=50
        )
        yield running


async def test_the_external_wms_picks_packs_ships_and_delivers_what_it_is_sent_once(
    world: World, wms: Wms
) -> None:
    wms.configure(step_ms=50, deliver=True)
    ops = world.ops(world.deployed.fulfillment)
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 7)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200

    # the WMS does the rest by itself; the order's fulfillment follows its word
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    steps = await fulfillment(ops, order_id, "completed")
    assert set(steps.values()) == {"succeeded"}
    sent = wms.orders()[order_id]
    assert (sent["count"], sent["events"]) == (1, ["picked", "packed", "shipped", "delivered"])
    lines = {line["lot"]: (line["gtin"], line["quantity"]) for line in sent["order"]["lines"]}
    assert lines == {"L100": (gtin, 5), "L200": (gtin, 2)}
    shipment = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()[0]
    assert (shipment["status"], shipment["tracking_number"][:4]) == ("DELIVERED", "SHP-")
    # what it picked left inventory's shelves, serial numbers kept
    assert await lots_on_hand(world, product_id) == {"L100": 0, "L200": 3}
    tasks = (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json()
    assert sorted(len(task["serials"]) for task in tasks) == [2, 5]


async def test_units_the_external_wms_reports_short_leave_the_shelf_and_are_backordered(
    world: World, wms: Wms
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    async with tapped(world.deployed.backend) as wire:
        # given a WMS that finds one unit fewer of an order's first lot than it is sent
        wms.configure(step_ms=50, deliver=True, short=1)
        try:
            order_id = (await order(ph, [(product_id, 7)]))["order_id"]
            assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
            wave = await wave_of(ops, order_id)
            assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
            await eventually(lambda: _async(order_id in wms.orders()))
        finally:
            wms.configure(short=0)

        # then the order ships what was picked, its first lot's pick closed one unit short
        assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
        assert wms.orders()[order_id]["events"] == ["picked", "packed", "shipped", "delivered"]
        tasks = (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json()
        closed = {
            t["lot"]: (t["status"], t["picked"], t["short"], len(t["serials"])) for t in tasks
        }
        assert closed == {"L100": ("SHORT", 4, 1, 4), "L200": ("PICKED", 2, 0, 2)}
        [completed] = await _told(wire, order_id, "pick.completed")
        # (a lot short of nothing leaves `short` out, its default)
        lots = completed["lots"]
        reported = {lot["lot"]: (lot["quantity"], lot.get("short", 0)) for lot in lots}
        assert reported == {"L100": (4, 1), "L200": (2, 0)}

    # and inventory took the unit short off hand with the units picked, reserving nothing
    position = await _stock(world, product_id, {"L100": 0, "L200": 3})
    assert position["hard_reserved"] == 0
    # and (ORDERLY_SHORT_PICK's default) the unit short is the order's open backorder
    listed = (await ops.get("/api/v1/backorders", params={"status": "OPEN"})).json()
    [backorder] = [row for row in listed if row["order_id"] == order_id]
    assert (backorder["product_id"], backorder["quantity"]) == (product_id, 1)
    shown = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
    assert [row["id"] for row in shown["backorders"]] == [backorder["id"]]


@pytest.mark.parametrize("short", [6, -1], ids=["more-than-sent", "negative"])
async def test_a_wms_report_of_units_short_it_was_not_sent_is_refused_and_changes_nothing(
    world: World, wms: Wms, short: int
) -> None:
    wms.configure(step_ms=60_000)  # the WMS takes its time: this test reports for it
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 5)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    await eventually(lambda: _async(order_id in wms.orders()))
    [sent] = wms.orders()[order_id]["order"]["lines"]
    assert (sent["lot"], sent["quantity"]) == ("L100", 5)

    keyed = httpx.AsyncClient(
        base_url=world.deployed.fulfillment.url, headers={"orderly-service-key": SERVICE_KEY}
    )
    async with keyed:
        # when the WMS reports the lot short of units it was not sent
        event = {"event_id": f"bad-{order_id}", "type": "picked", "order_id": order_id}
        bad = await keyed.post(
            "/api/v1/wms/events", json={**event, "lots": [{**sent, "short": short}]}
        )

        # then the report is refused, saying which lot's count is wrong
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed"), bad.text
        [error] = bad.json()["errors"]
        assert error["loc"] == ["body", "lots", 0, "short"]
        assert error["type"] == ("short_exceeds_quantity" if short > 0 else "greater_than_equal")
        # and nothing was recorded: no pick, the lot still on hand and reserved, no backorder
        assert (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json() == []
        position = await _stock(world, product_id, {"L100": 5, "L200": 5})
        assert position["hard_reserved"] == 5
        listed = (await ops.get("/api/v1/backorders")).json()
        assert [row for row in listed if row["order_id"] == order_id] == []

        # the WMS's report, once right, is taken as the first word on the order's picking
        good = await keyed.post(
            "/api/v1/wms/events", json={**event, "lots": [{**sent, "short": 5}]}
        )
        assert good.status_code == 200, good.text
        tasks = (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json()
        assert [(t["status"], t["picked"], t["short"]) for t in tasks] == [("SHORT", 0, 5)]

    # the order is cancelled before the WMS gets to it: it is cancelled there too
    cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    await eventually(lambda: _async(wms.orders()[order_id]["cancelled"]))


async def test_an_order_cancelled_before_the_wms_ships_it_is_cancelled_there(
    world: World, wms: Wms
) -> None:
    wms.configure(step_ms=60_000)  # the WMS takes its time
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 3)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(ops, order_id)
    assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    await eventually(lambda: _async(order_id in wms.orders()))

    cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    await eventually(lambda: _async(wms.orders()[order_id]["cancelled"]))
    steps = await fulfillment(ops, order_id, "compensated")
    assert (steps["pick"], steps["reserve"]) == ("compensated", "compensated")
    assert wms.orders()[order_id]["count"] == 1


async def test_only_the_deployments_services_may_report_for_the_wms(world: World) -> None:
    client = world.deployed.fulfillment.client(world.operator)
    event = {"event_id": "e1", "type": "packed", "order_id": "nope"}
    answer = await client.post("/api/v1/wms/events", json=event)
    assert answer.status_code == 404  # an operator's token is not the service key
    keyed = httpx.AsyncClient(
        base_url=world.deployed.fulfillment.url, headers={"orderly-service-key": SERVICE_KEY}
    )
    async with keyed:
        unknown = await keyed.post("/api/v1/wms/events", json=event)
        assert (unknown.status_code, unknown.json()["code"]) == (404, "shipment_not_found")
        bad = await keyed.post("/api/v1/wms/events", json={**event, "type": "shipped"})
        assert bad.status_code == 422, bad.text


async def _async(value: bool) -> bool:
    return value


async def _told(wire: Wire, order_id: str, kind: str) -> list[dict[str, Any]]:
    async def heard() -> list[dict[str, Any]] | None:
        found = [e["data"] for e in await wire.events(order_id) if e["event_type"] == kind]
        return found or None

    return await eventually(heard)


async def _stock(world: World, product_id: str, on_hand: dict[str, int]) -> dict[str, Any]:
    """Inventory's figures for the product once its lots hold `on_hand`."""
    inventory = world.ops(world.deployed.inventory)

    async def counted() -> dict[str, Any] | None:
        answer = await inventory.get(f"/api/v1/inventory/{product_id}")
        position: dict[str, Any] = answer.json()
        lots = {lot["lot"]: lot["on_hand"] for lot in position["lots"]}
        return position if lots == on_hand else None

    return await eventually(counted)
