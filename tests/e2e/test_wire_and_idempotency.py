"""What leaves on the broker is seed 001's event JSON; double submits make one order."""

import asyncio
import re
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import AMQP_URL
from tests.waiting import eventually

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@needs_services
@pytest.mark.distributed
async def test_status_updates_on_the_wire_are_seed_001_events(
    distributed_backend: Backend, tmp_path: Path
) -> None:
    deployed = deploy(distributed_backend, tmp_path)
    connection = await aio_pika.connect_robust(AMQP_URL, timeout=30)
    try:
        # given a private queue listening to delivery's status updates
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{distributed_backend.namespace}.fulfillment")
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(exchange, routing_key="order.status_updated")
        received: list[dict[str, Any]] = []

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                received.append(orjson.loads(message.body))

        await tap.consume(keep)

        # when an order ships and is delivered
        customer = deployed.customer()["token"]
        product = await create_product(deployed, "WIRE-1", 5)
        placed = await deployed.ordering.client(customer).post(
            "/api/v1/orders",
            json={"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS},
        )
        order_id = placed.json()["order_id"]
        delivery = deployed.fulfillment.client(customer)
        warehouse = deployed.fulfillment.client(deployed.operator_token)

        async def shipment_id() -> str | None:
            found = (await delivery.get("/api/v1/shipments", params={"order_id": order_id})).json()
            return found[0]["id"] if found else None

        shipment = await eventually(shipment_id)
        await warehouse.post(
            f"/api/v1/shipments/{shipment}/ship",
            json={"tracking_number": "TRK123456789", "carrier": "FedEx"},
        )
        await warehouse.post(
            f"/api/v1/shipments/{shipment}/deliver",
            json={"delivered_at": "2024-01-17T16:45:00Z", "delivery_location": "Front door"},
        )

        # then the broker carried exactly seed 001's two events
        async def both() -> bool:
            return len(received) >= 2

        await eventually(both)
        shipped, delivered = received
        for event in received:
            assert set(event) == {"event_id", "event_type", "timestamp", "source", "data"}
            assert event["event_id"].startswith("evt_")
            assert event["event_type"] == "order.status_updated"
            assert event["source"] == "delivery-service"
            assert TIMESTAMP.match(event["timestamp"])
        assert shipped["data"] == {
            "order_id": order_id,
            "previous_status": "PENDING_SHIPMENT",
            "current_status": "SHIPPED",
            "tracking_number": "TRK123456789",
            "carrier": "FedEx",
        }
        assert delivered["data"] == {
            "order_id": order_id,
            "previous_status": "SHIPPED",
            "current_status": "DELIVERED",
            "delivered_at": "2024-01-17T16:45:00Z",
            "delivery_location": "Front door",
        }
    finally:
        await connection.close()
        for server in deployed.servers:
            server.stop()


async def test_concurrent_double_submits_with_one_key_make_one_order(
    deployment: Deployment,
) -> None:
    product = await create_product(deployment, "IDEM-1", 100)
    sales = deployment.ordering.client(deployment.customer()["token"])
    body = {"items": [{"product_id": product, "quantity": 4}], "shipping_address": ADDRESS}
    headers = {"Idempotency-Key": "checkout-7f3a"}

    responses = await asyncio.gather(
        *(sales.post("/api/v1/orders", json=body, headers=headers) for _ in range(8))
    )

    assert {r.status_code for r in responses} <= {200, 201}
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert len((await sales.get("/api/v1/orders")).json()) == 1
    # another customer's identical key is its own, and places its own order
    other = deployment.ordering.client(deployment.customer()["token"])
    theirs = await other.post("/api/v1/orders", json=body, headers=headers)
    assert theirs.status_code == 201
    assert theirs.json()["order_id"] != responses[0].json()["order_id"]
    # the same key for a different order is refused
    other = await sales.post(
        "/api/v1/orders",
        json={**body, "items": [{"product_id": product, "quantity": 5}]},
        headers=headers,
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert len((await sales.get("/api/v1/orders")).json()) == 1
