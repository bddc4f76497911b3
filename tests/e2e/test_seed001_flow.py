"""Seed 001 end to end over HTTP: availability first, order, shipment, SHIPPED, DELIVERED."""

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Backend
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.server import stocked
from tests.waiting import eventually

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


async def create_product(deployed: Deployment, sku: str, stock: int) -> str:
    """An operator creates a product with its stock; inventory holds it when this returns."""
    client = deployed.catalog.client(deployed.operator_token)
    response = await client.post(
        "/api/v1/products",
        json={
            "name": f"Product {sku}",
            "sku": sku,
            "price": "49.99",
            "description": "",
            "stock": stock,
        },
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    await stocked(deployed.inventory.client(deployed.operator_token), product_id, stock)
    return product_id


async def order_status(
    client: httpx.AsyncClient, order_id: str, wanted: str
) -> dict[str, Any] | None:
    order: dict[str, Any] = (await client.get(f"/api/v1/orders/{order_id}")).json()
    return order if order["status"] == wanted else None


async def test_seed_001_sales_flow(deployment: Deployment) -> None:
    # operators keep the catalog and run the warehouse; a customer buys and follows the order
    customer = deployment.customer()["token"]
    sales = deployment.ordering.client(customer)
    delivery = deployment.fulfillment.client(customer)
    warehouse = deployment.fulfillment.client(deployment.operator_token)
    p456 = await create_product(deployment, "P-456", 150)
    p789 = await create_product(deployment, "P-789", 50)

    # availability check: exactly seed 001's request and response
    check = await deployment.inventory.client(customer).post(
        "/api/v1/products/check-availability",
        json={"items": [{"product_id": p456, "quantity": 2}, {"product_id": p789, "quantity": 1}]},
    )
    assert check.status_code == 200
    assert check.json() == {
        "all_available": True,
        "items": [
            {"product_id": p456, "requested": 2, "available": 150, "is_available": True},
            {"product_id": p789, "requested": 1, "available": 50, "is_available": True},
        ],
    }

    # an order with a short item is refused before any order exists
    refused = await sales.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": p456, "quantity": 2}, {"product_id": p789, "quantity": 51}],
            "shipping_address": ADDRESS,
        },
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "insufficient_stock"
    assert refused.json()["items"] == [
        {"product_id": p789, "requested": 51, "available": 50, "is_available": False}
    ]
    assert (await sales.get("/api/v1/orders")).json() == []

    # an available order is created PENDING_SHIPMENT
    placed = await sales.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": p456, "quantity": 2}, {"product_id": p789, "quantity": 1}],
            "shipping_address": ADDRESS,
        },
    )
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert set(body) == {"order_id", "status"}
    assert body["status"] == "PENDING_SHIPMENT"
    order_id = body["order_id"]
    # its lines in order, priced from ordering's copy of the catalog, and one history entry
    kept = (await sales.get(f"/api/v1/orders/{order_id}")).json()
    assert [(i["product_id"], i["quantity"]) for i in kept["items"]] == [(p456, 2), (p789, 1)]
    assert [i["unit_price"] for i in kept["items"]] in (
        [None, None],  # ordering has not heard the price yet
        ["49.99", "49.99"],
    )
    assert [h["status"] for h in kept["history"]] == ["PENDING_SHIPMENT"]

    # delivery consumed order.created and made a shipment
    async def shipment() -> dict[str, Any] | None:
        found: list[dict[str, Any]] = (
            await delivery.get("/api/v1/shipments", params={"order_id": order_id})
        ).json()
        return found[0] if found else None

    shipped_for = await eventually(shipment)
    assert shipped_for["status"] == "PENDING_SHIPMENT"
    assert shipped_for["items"] == [
        {"product_id": p456, "quantity": 2},
        {"product_id": p789, "quantity": 1},
    ]

    # and inventory reserved the units (first-expiry-first-out, from the initial lot)
    stock = deployment.inventory.client(deployment.operator_token)

    async def allocated() -> bool:
        position = (await stock.get(f"/api/v1/inventory/{p456}")).json()
        return bool(position["atp"] == 148 and position["dcs"][0]["hard_reserved"] == 2)

    await eventually(allocated)

    # ship, then deliver: the order follows
    ship = await warehouse.post(
        f"/api/v1/shipments/{shipped_for['id']}/ship",
        json={"tracking_number": "TRK123456789", "carrier": "FedEx"},
    )
    assert ship.status_code == 200
    assert ship.json()["status"] == "SHIPPED"
    await eventually(lambda: order_status(sales, order_id, "SHIPPED"))
    deliver = await warehouse.post(
        f"/api/v1/shipments/{shipped_for['id']}/deliver",
        json={"delivered_at": "2024-01-17T16:45:00Z", "delivery_location": "Front door"},
    )
    assert deliver.status_code == 200
    order = await eventually(lambda: order_status(sales, order_id, "DELIVERED"))
    assert [entry["status"] for entry in order["history"]] == [
        "PENDING_SHIPMENT",
        "SHIPPED",
        "DELIVERED",
    ]
    assert order["history"][1]["details"]["tracking_number"] == "TRK123456789"
    assert order["history"][2]["details"]["delivery_location"] == "Front door"

    # a shipment cannot be delivered twice
    again = await warehouse.post(
        f"/api/v1/shipments/{shipped_for['id']}/deliver", json={"delivery_location": "Porch"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_shipment_transition"


async def test_an_order_committed_before_a_crash_is_delivered_after_restart(
    backend: Backend, tmp_path: Path
) -> None:
    # given the sales process commits an order but dies before its relay publishes anything
    deployed = deploy(backend, tmp_path)
    try:
        customer = deployed.customer()["token"]
        product = await create_product(deployed, "CRASH-1", 10)
        deployed.ordering.stop()
        deployed.ordering.start(relay=False).wait_ready()
        placed = await deployed.ordering.client(customer).post(
            "/api/v1/orders",
            json={"items": [{"product_id": product, "quantity": 3}], "shipping_address": ADDRESS},
        )
        assert placed.status_code == 201
        order_id = placed.json()["order_id"]
        outbox = (
            await deployed.ordering.client(deployed.operator_token).get("/api/v1/admin/outbox")
        ).json()
        assert {row["context"]: row["pending"] for row in outbox}["ordering"] == 1
        deployed.ordering.kill()
        # when it restarts with its relay
        deployed.ordering.start(relay=True).wait_ready()

        # then the order still reaches delivery, exactly once
        async def shipments() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = (
                await deployed.fulfillment.client(customer).get(
                    "/api/v1/shipments", params={"order_id": order_id}
                )
            ).json()
            return found or None

        assert len(await eventually(shipments)) == 1
    finally:
        for server in deployed.servers:
            server.stop()
