"""Seed 001 under a race, in both modes: a 201 means the order's stock is held, a refusal is a
400 and no order; no accepted order is cancelled for want of stock afterwards."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import orjson
import pytest

from tests.e2e.conftest import BACKENDS, SERVICE_KEY, Deployment, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import AMQP_URL, unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with shared_deployment(request.param, tmp_path_factory.mktemp("direct-holds")) as running:
        yield running


@asynccontextmanager
async def inventory_answers(deployed: Deployment) -> AsyncIterator[list[dict[str, Any]]]:
    """Inventory's answers to orders (`inventory.reserved`, `inventory.insufficient`), as
    they go out: on the broker, or in one process from inventory's outbox once every
    consumer (ordering among them) has handled them."""
    heard: list[dict[str, Any]] = []
    if deployed.backend.name == "embedded":
        yield heard
        return
    connection = await aio_pika.connect_robust(AMQP_URL, timeout=30)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{deployed.backend.namespace}.inventory")
        tap = await channel.declare_queue(exclusive=True)
        for kind in ("inventory.reserved", "inventory.insufficient"):
            await tap.bind(exchange, routing_key=kind)

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                heard.append(orjson.loads(message.body))

        await tap.consume(keep)
        yield heard
    finally:
        await connection.close()


async def answered(deployed: Deployment, heard: list[dict[str, Any]], orders: list[str]) -> None:
    """Wait until inventory has answered every one of `orders`; each answer must be
    `inventory.reserved`."""
    if deployed.backend.name == "embedded":
        admin = deployed.inventory.client(deployed.operator_token)

        async def drained() -> bool:
            rows = (await admin.get("/api/v1/admin/outbox")).json()
            return all(row["pending"] == 0 for row in rows)

        await eventually(drained)
        return

    async def all_heard() -> bool:
        return {e["data"]["orderId"] for e in heard} >= set(orders)

    await eventually(all_heard)
    mine = [e for e in heard if e["data"]["orderId"] in set(orders)]
    assert {e["event_type"] for e in mine} == {"inventory.reserved"}


async def test_concurrent_orders_for_scarce_stock_hold_what_they_answer(
    deployed: Deployment,
) -> None:
    # given 20 units and four customers sending 60 one-unit orders at once
    product = await create_product(deployed, unique("SCARCE"), 20)
    clients = [deployed.ordering.client(deployed.customer()["token"]) for _ in range(4)]
    body = {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}

    async with inventory_answers(deployed) as heard:
        answers = await asyncio.gather(
            *(clients[n % 4].post("/api/v1/orders", json=body) for n in range(60))
        )
        accepted = [a.json()["order_id"] for a in answers if a.status_code == 201]

        # then exactly 20 are accepted and every other is refused with seed 001's 400
        assert len(accepted) == 20
        for refused in (a for a in answers if a.status_code != 201):
            assert refused.status_code == 400, refused.text
            assert refused.json()["code"] == "insufficient_stock"
            assert refused.json()["items"] == [
                {"product_id": product, "requested": 1, "available": 0, "is_available": False}
            ]
        await answered(deployed, heard, accepted)

    # no order exists but the accepted ones, and every one of them is still to be shipped
    listed: dict[str, str] = {}
    for client in clients:
        for order in (await client.get("/api/v1/orders", params={"limit": 500})).json():
            listed[order["order_id"]] = order["status"]
    assert set(listed) == set(accepted)
    assert set(listed.values()) == {"PENDING_SHIPMENT"}
    position = await deployed.inventory.client(deployed.operator_token).get(
        f"/api/v1/inventory/{product}"
    )
    assert position.json()["atp"] == 0
    assert position.json()["lots"][0]["reserved"] == 20


async def test_an_order_not_written_gives_its_hold_back_at_once(deployed: Deployment) -> None:
    # given 10 units, and five identical requests racing with one Idempotency-Key
    product = await create_product(deployed, unique("KEYED"), 10)
    client = deployed.ordering.client(deployed.customer()["token"])
    body = {"items": [{"product_id": product, "quantity": 2}], "shipping_address": ADDRESS}
    headers = {"Idempotency-Key": unique("key")}

    answers = await asyncio.gather(
        *(client.post("/api/v1/orders", json=body, headers=headers) for _ in range(5))
    )

    # then one order is made, and the requests that lost the key gave their holds back:
    # 8 units are available again without waiting for any hold to run out
    assert {a.json()["order_id"] for a in answers} == {answers[0].json()["order_id"]}
    inventory = deployed.inventory.client(deployed.operator_token)

    async def eight_left() -> bool:
        position = (await inventory.get(f"/api/v1/inventory/{product}")).json()
        return bool(position["atp"] == 8)

    await eventually(eight_left)


async def test_the_hold_route_answers_short_lines_and_keeps_a_placed_orders_hold(
    deployed: Deployment,
) -> None:
    # inventory's hold route, as ordering calls it: short lines answer 409 with seed 001's
    # words, and a hold whose order exists cannot be let go
    product = await create_product(deployed, unique("ROUTE"), 3)
    token = deployed.customer()["token"]
    inventory = deployed.inventory.client(token)
    inventory.headers["Orderly-Service-Key"] = SERVICE_KEY
    body = {"order_id": unique("order"), "items": [{"product_id": product, "quantity": 5}]}

    short = await inventory.post("/api/v1/inventory/reservations", json=body)

    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_stock"
    assert short.json()["items"][0]["available"] == 3

    async with inventory_answers(deployed) as heard:
        placed = await deployed.ordering.client(token).post(
            "/api/v1/orders",
            json={"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS},
        )
        order_id = placed.json()["order_id"]
        await answered(deployed, heard, [order_id])

    gone = await inventory.delete(f"/api/v1/inventory/reservations/{order_id}")

    assert gone.status_code == 409
    assert gone.json()["code"] == "hold_confirmed"


@pytest.mark.parametrize("key", ["", "not-the-deployments-key"], ids=["no-key", "wrong-key"])
async def test_a_customer_cannot_hold_stock_without_an_order(
    deployed: Deployment, key: str
) -> None:
    # holds are asked for by ordering only: a customer calling the route itself, to hold
    # stock with no order behind it, finds no such route, and nothing is held
    product = await create_product(deployed, unique("HOARD"), 3)
    inventory = deployed.inventory.client(deployed.customer()["token"])
    if key:
        inventory.headers["Orderly-Service-Key"] = key
    body = {"order_id": unique("order"), "items": [{"product_id": product, "quantity": 3}]}

    held = await inventory.post("/api/v1/inventory/reservations", json=body)
    gone = await inventory.delete(f"/api/v1/inventory/reservations/{body['order_id']}")

    assert held.status_code == 404
    assert gone.status_code == 404
    assert (await inventory.get(f"/api/v1/inventory/{product}")).json()["atp"] == 3
