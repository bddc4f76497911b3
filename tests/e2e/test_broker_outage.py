"""Orders accepted while RabbitMQ is down reach delivery once it is back."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orderly.identity.authenticator import SESSION_CACHE_SECONDS
from tests.conftest import Backend, needs_services
from tests.e2e.conftest import deploy
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.waiting import eventually


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture
def broker_outage() -> Iterator[None]:
    """Stop the broker's application on demand; always start it again."""
    try:
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


@needs_services
@pytest.mark.distributed
@pytest.mark.outage
async def test_orders_placed_while_the_broker_is_down_are_delivered_after(
    distributed_backend: Backend, tmp_path: Path, broker_outage: None
) -> None:
    deployed = deploy(distributed_backend, tmp_path)
    try:
        customer = deployed.customer()["token"]
        product = await create_product(deployed, "OUTAGE-1", 20)
        sales = deployed.ordering.client(customer)
        # given the broker is down
        rabbitmqctl("stop_app")
        # when orders are placed, they are accepted and wait in the outbox
        order_ids = []
        for _ in range(3):
            placed = await sales.post(
                "/api/v1/orders",
                json={
                    "items": [{"product_id": product, "quantity": 1}],
                    "shipping_address": ADDRESS,
                },
            )
            assert placed.status_code == 201
            order_ids.append(placed.json()["order_id"])
        admin = deployed.ordering.client(deployed.operator_token)
        outbox = {row["context"]: row for row in (await admin.get("/api/v1/admin/outbox")).json()}
        assert outbox["ordering"]["pending"] == 3
        # and once the broker is back
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

        # then every order reaches delivery, once
        async def shipments() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = (
                await deployed.fulfillment.client(customer).get("/api/v1/shipments")
            ).json()
            return found if len(found) >= 3 else None

        found = await eventually(shipments, within=90)
        assert sorted(s["order_id"] for s in found) == sorted(order_ids)

        # and revocations are pushed again: each process's own queue came back with the broker
        late = deployed.customer()["token"]
        assert (await deployed.ordering.client(late).get("/api/v1/orders")).status_code == 200
        assert (await deployed.identity.client(late).post("/api/v1/auth/logout")).status_code == 204

        async def refused() -> bool:
            response = await deployed.ordering.client(late).get("/api/v1/orders")
            return response.status_code == 401

        await eventually(refused, within=SESSION_CACHE_SECONDS / 3)
    finally:
        for server in deployed.servers:
            server.stop()
