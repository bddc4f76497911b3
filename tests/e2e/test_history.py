"""Seed 004's event history and its projections, over HTTP in both modes: every event about an
order is kept with seed 004's names, the order view and the daily analytics follow them, the
reports come as JSON, CSV and Parquet to those who may read them, and a projection rebuilt
from the history, while orders keep coming, is the live one."""

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_checkout_b2c import b2c, place, settled
from tests.e2e.test_seed001_flow import create_product
from tests.e2e.test_warehouse import shipped, tasks_of, waiting_to_pack, wave_of
from tests.services import unique
from tests.waiting import eventually

SEED_004 = {
    "order.created": "OrderReceived",
    "order.confirmed": "OrderValidated",
    "wave.released": "OrderWaveAssigned",
    "fulfillment.shipped": "OrderShipped",
    "fulfillment.delivered": "OrderCompleted",
}


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with shared_deployment(request.param, tmp_path_factory.mktemp("history")) as running:
        yield running


def ops(deployed: Deployment) -> httpx.AsyncClient:
    return deployed.history.client(deployed.operator_token)


async def paid(deployed: Deployment, customer: httpx.AsyncClient, product_id: str) -> str:
    placed = await place(customer, b2c(product_id, 1))
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    await settled(customer, order_id, "processing")
    return order_id


async def through_the_warehouse(floor: httpx.AsyncClient, order_id: str) -> None:
    """The order waved, picked, packed, shipped and delivered."""
    wave = await wave_of(floor, order_id)
    assert (await floor.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
    [task] = await tasks_of(floor, order_id)
    counted = await floor.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": 1})
    assert counted.status_code == 200, counted.text
    await waiting_to_pack(floor, order_id)
    assert (await floor.post(f"/api/v1/pack-tasks/{order_id}/complete")).status_code == 200
    shipment = await shipped(floor, order_id)
    arrived = await floor.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={"delivered_at": "2026-01-17T16:45:00Z", "delivery_location": "Front desk"},
    )
    assert arrived.status_code == 200, arrived.text


async def events(client: httpx.AsyncClient, order_id: str, *wanted: str) -> list[dict[str, Any]]:
    """The order's kept events, once every type of `wanted` is among them."""

    async def kept() -> list[dict[str, Any]] | None:
        answer = await client.get(f"/api/v1/orders/{order_id}/events")
        if answer.status_code != 200:
            return None
        found: list[dict[str, Any]] = answer.json()["events"]
        types = {event["event_type"] for event in found}
        return found if set(wanted) <= types else None

    return await eventually(kept)


async def view_of(client: httpx.AsyncClient, order_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        rows = (await client.get("/api/v1/reports/orders", params={"limit": 10_000})).json()
        mine = [row for row in rows if row["order_id"] == order_id]
        return mine[0] if mine and mine[0]["status"] == status else None

    return await eventually(reached)


async def today(client: httpx.AsyncClient) -> dict[str, int]:
    day = datetime.now(UTC).date().isoformat()
    answer = await client.get(
        "/api/v1/reports/daily", params={"from": day, "to": day, "channel": "b2c"}
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    keys = ("orders", "units", "revenue_cents", "confirmed", "cancelled", "delivered")
    return {key: sum(row[key] for row in rows) for key in keys}


async def test_an_orders_events_are_kept_and_its_projections_follow(
    deployment: Deployment,
) -> None:
    deployed = deployment
    operator = ops(deployed)
    fulfillment = deployed.fulfillment.client(deployed.operator_token)
    product_id = await create_product(deployed, unique("HIST"), 20)
    buyer, other = deployed.customer(), deployed.customer()
    shopper = deployed.ordering.client(buyer["token"])
    before = await today(operator)

    # given a customer's order delivered, another cancelled, and someone else's order
    delivered = await paid(deployed, shopper, product_id)
    await through_the_warehouse(fulfillment, delivered)
    cancelled = await paid(deployed, shopper, product_id)
    undone = await shopper.post(f"/api/v1/orders/{cancelled}/cancel")
    assert undone.status_code == 200, undone.text
    theirs = await paid(deployed, deployed.ordering.client(other["token"]), product_id)

    # then the delivered order's history holds each of its moments, seed 004's among them
    mine = deployed.history.client(buyer["token"])
    kept = await events(mine, delivered, *SEED_004, "payment.completed")
    named = {event["event_type"]: event["name"] for event in kept}
    assert {kind: named[kind] for kind in SEED_004} == SEED_004
    assert named["payment.completed"] is None
    # oldest first, by when each happened (shown to the second); the sequence is the order
    # they arrived in, which events relayed by different contexts may not share
    times = [e["occurred_at"] for e in kept]
    assert times == sorted(times)
    assert len({e["seq"] for e in kept}) == len(kept)
    created = next(e for e in kept if e["event_type"] == "order.created")
    assert created["data"]["orderId"] == delivered
    assert created["event_id"]
    assert created["source"] == "sales-service"
    assert len({e["event_id"] for e in kept}) == len(kept)

    # and nobody else's: another customer is told it does not exist; an operator sees it
    stranger = await deployed.history.client(other["token"]).get(
        f"/api/v1/orders/{delivered}/events"
    )
    assert stranger.status_code == 404, stranger.text
    assert stranger.json()["code"] == "order_not_found"
    assert (await operator.get(f"/api/v1/orders/{delivered}/events")).status_code == 200

    # the order view follows each order to its end, and shows a customer its own alone
    assert (await view_of(mine, delivered, "DELIVERED"))["tracking_number"].startswith("SHP-")
    assert (await view_of(mine, cancelled, "CANCELLED"))["units"] == 1
    await view_of(operator, theirs, "PAID")
    rows = (await mine.get("/api/v1/reports/orders")).json()
    assert {row["order_id"] for row in rows} == {delivered, cancelled}
    narrowed = await mine.get("/api/v1/reports/orders", params={"status": "CANCELLED"})
    assert [row["order_id"] for row in narrowed.json()] == [cancelled]

    # the day's analytics count the three orders: one cancelled, one delivered, revenue
    # from the two that stand
    async def counted() -> dict[str, int] | None:
        now = await today(operator)
        moved = {key: now[key] - before[key] for key in now}
        return moved if moved["orders"] == 3 and moved["delivered"] == 1 else None

    moved = await eventually(counted)
    assert moved == {
        "orders": 3,
        "units": 3,
        "revenue_cents": 2 * 4999,
        "confirmed": 2,
        "cancelled": 1,
        "delivered": 1,
    }
    refused = await mine.get("/api/v1/reports/daily")
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "report_not_allowed"


async def test_reports_come_as_csv_and_parquet(deployment: Deployment) -> None:
    operator = ops(deployment)
    product_id = await create_product(deployment, unique("CSV"), 5)
    order_id = await paid(
        deployment, deployment.ordering.client(deployment.customer()["token"]), product_id
    )
    await view_of(operator, order_id, "PAID")
    as_json = (await operator.get("/api/v1/reports/orders", params={"limit": 10_000})).json()

    as_csv = await operator.get("/api/v1/reports/orders", params={"format": "csv", "limit": 10_000})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["order_id"] for row in table] == [row["order_id"] for row in as_json]
    assert [row["status"] for row in table] == [row["status"] for row in as_json]

    daily = await operator.get("/api/v1/reports/daily", params={"format": "parquet"})
    assert daily.status_code == 200
    assert daily.headers["content-type"] == "application/vnd.apache.parquet"
    frame = pq.read_table(io.BytesIO(daily.content)).to_pylist()
    expected = (await operator.get("/api/v1/reports/daily")).json()
    assert frame == expected

    backwards = await operator.get(
        "/api/v1/reports/daily", params={"from": "2026-02-02", "to": "2026-02-01"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "invalid_date_range"


async def reports(client: httpx.AsyncClient) -> tuple[list[Any], list[Any]]:
    view = (await client.get("/api/v1/reports/orders", params={"limit": 10_000})).json()
    daily = (await client.get("/api/v1/reports/daily", params={"limit": 10_000})).json()
    return view, daily


def rebuild(deployed: Deployment, name: str) -> dict[str, Any]:
    result = deployed.history.cli("projections", "rebuild", name, "--json")
    assert result.returncode == 0, result.stderr
    built: dict[str, Any] = json.loads(result.stdout)
    return built


async def test_a_rebuilt_projection_is_the_live_one(deployment: Deployment) -> None:
    deployed = deployment
    operator = ops(deployed)
    product_id = await create_product(deployed, unique("REBUILD"), 40)
    shopper = deployed.ordering.client(deployed.customer()["token"])
    await paid(deployed, shopper, product_id)
    live = await reports(operator)

    # a rebuild of each from the history, with nothing arriving meanwhile, changes nothing
    for name in ("orders", "analytics"):
        built = rebuild(deployed, name)
        assert built["differences"] == 0, built
        assert built["events"] > 0
        assert built["rows"] > 0
    assert await reports(operator) == live

    # and while orders keep coming, each rebuild still matches the live projection it
    # replaces, which went on serving
    async def keep_ordering() -> list[str]:
        return [await paid(deployed, shopper, product_id) for _ in range(6)]

    placing = asyncio.create_task(keep_ordering())
    for name in ("analytics", "orders", "analytics"):
        built = await asyncio.to_thread(rebuild, deployed, name)
        assert built["differences"] == 0, built
        status = (await operator.get("/api/v1/reports/orders", params={"limit": 1})).status_code
        assert status == 200
    placed = await placing
    for order_id in placed:
        await view_of(operator, order_id, "PAID")
    settled_view = await reports(operator)
    again = rebuild(deployed, "orders"), rebuild(deployed, "analytics")
    assert [built["differences"] for built in again] == [0, 0]
    assert await reports(operator) == settled_view
    status = (await operator.get("/api/v1/reports/projections")).json()
    assert {row["name"]: row["generation"] > 1 for row in status} == {
        "orders": True,
        "analytics": True,
    }
