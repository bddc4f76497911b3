"""While PostgreSQL is down requests get a retryable 503 and leave nothing; after, all works."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.conftest import deploy
from tests.e2e.server import OPERATOR_EMAIL, OPERATOR_PASSWORD
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import postgres_up
from tests.waiting import eventually

CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]


def postgres(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        [*CLUSTER, version, "main", action], check=True, capture_output=True, timeout=120
    )


@pytest.fixture
def database_outage() -> Iterator[None]:
    """Stop PostgreSQL on demand; always leave it running."""
    try:
        yield
    finally:
        if not postgres_up():
            postgres("start")


@needs_services
@pytest.mark.distributed
@pytest.mark.outage
async def test_orders_are_refused_while_the_database_is_down_and_accepted_after(
    distributed_backend: Backend, tmp_path: Path, database_outage: None
) -> None:
    deployed = deploy(distributed_backend, tmp_path)
    try:
        customer = deployed.customer()["token"]
        product = await create_product(deployed, "PGDOWN-1", 20)
        sales = deployed.ordering.client(customer)
        body = {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
        # given the database is down
        postgres("stop")
        # then identity, whose own database is down, says so (a login reads it; a session it
        # checked moments ago is still known to it for a few seconds)
        login = await deployed.identity.client().post(
            "/api/v1/auth/login", json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD}
        )
        assert login.status_code == 503
        assert login.json()["code"] == "database_unavailable"
        # and every other service answers with a retryable problem too, never a 500: it names
        # its own database, or the dependency that failed it (identity checking the token,
        # catalog checking availability)
        for response in [
            await deployed.catalog.client(customer).get(f"/api/v1/products/{product}"),
            await sales.get("/api/v1/orders"),
            await sales.post("/api/v1/orders", json=body),
        ]:
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] in {"database_unavailable", "dependency_unavailable"}
        # each process is alive, and says it is not ready: a load balancer sends it nothing
        ordering = deployed.ordering.client()
        assert (await ordering.get("/health/live")).status_code == 200
        not_ready = await ordering.get("/health/ready")
        assert (not_ready.status_code, not_ready.json()["code"]) == (503, "not_ready")
        # and once it is back, it is ready again, and orders go through and reach delivery
        postgres("start")

        async def ready() -> bool:
            return (await ordering.get("/health/ready")).json() == {"status": "ready"}

        await eventually(ready, within=60)

        async def placed() -> dict[str, Any] | None:
            response = await sales.post("/api/v1/orders", json=body)
            return response.json() if response.status_code == 201 else None

        order = await eventually(placed, within=60)

        async def shipment() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = (
                await deployed.fulfillment.client(customer).get(
                    "/api/v1/shipments", params={"order_id": order["order_id"]}
                )
            ).json()
            return found or None

        assert len(await eventually(shipment, within=60)) == 1
        # the refused attempt left nothing behind: one order in all
        assert len((await sales.get("/api/v1/orders")).json()) == 1
    finally:
        for server in deployed.servers:
            server.stop()
