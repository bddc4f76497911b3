"""Inventory over HTTP and on the broker: receipts by lot, ATP, quarantine, reservations."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.conftest import deploy
from tests.e2e.server import Server, embedded, stocked
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import AMQP_URL, unique
from tests.waiting import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("inventory")) as running:
        yield running


async def new_product(server: Server, stock: int = 0) -> str:
    operator = server.client(server.login())
    body = {"name": "Amoxicillin", "sku": unique("INV"), "price": "4.20", "stock": stock}
    created = await operator.post("/api/v1/products", json=body)
    assert created.status_code == 201
    product_id: str = created.json()["id"]
    await stocked(operator, product_id, stock)
    return product_id


async def test_receipts_by_lot_make_atp_and_quarantine_takes_it_away(server: Server) -> None:
    operator = server.client(server.login())
    customer = server.client(server.register_customer()["token"])
    product_id = await new_product(server)
    receipts = f"/api/v1/inventory/{product_id}/receipts"
    first = {"quantity": 40, "lot": "A1", "expires_on": "2099-03-31"}
    a = await operator.post(receipts, json=first)
    assert a.status_code == 201, a.text
    assert a.json() | {"lot_id": "x"} == {
        "lot_id": "x",
        "dc": "MAIN",
        "lot": "A1",
        "expires_on": "2099-03-31",
        "status": "released",
        "on_hand": 40,
        "reserved": 0,
    }
    east = {"quantity": 25, "lot": "B7", "expires_on": "2099-06-30", "dc": "EAST"}
    assert (await operator.post(receipts, json=east)).status_code == 201
    # the same lot again adds to it; with another expiry it is refused
    assert (await operator.post(receipts, json=east)).json()["on_hand"] == 50
    mismatch = await operator.post(receipts, json={**east, "expires_on": "2099-07-31"})
    assert mismatch.status_code == 409
    assert mismatch.json()["code"] == "lot_mismatch"

    position = (await operator.get(f"/api/v1/inventory/{product_id}")).json()
    assert position["atp"] == 90
    assert [(dc["dc"], dc["atp"]) for dc in position["dcs"]] == [("EAST", 50), ("MAIN", 40)]
    assert len(position["lots"]) == 2
    # a customer sees ATP, not the lots
    seen = (await customer.get(f"/api/v1/inventory/{product_id}")).json()
    assert seen["atp"] == 90
    assert "lots" not in seen

    await operator.put(f"/api/v1/inventory/{product_id}/safety-stock/MAIN", json={"units": 10})
    quarantined = await operator.post(f"/api/v1/inventory/lots/{a.json()['lot_id']}/quarantine")
    assert quarantined.json()["status"] == "quarantined"
    after = (await customer.get(f"/api/v1/inventory/{product_id}")).json()
    assert after["atp"] == 50
    main = next(dc for dc in after["dcs"] if dc["dc"] == "MAIN")
    assert main == {
        "dc": "MAIN",
        "on_hand": 40,
        "hard_reserved": 0,
        "soft_reserved": 0,
        "blocked": 40,
        "safety_stock": 10,
        "atp": 0,
    }
    check = await customer.post(
        "/api/v1/products/check-availability",
        json={"items": [{"product_id": product_id, "quantity": 51}]},
    )
    assert check.json()["all_available"] is False
    assert check.json()["items"][0]["available"] == 50


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 0, "lot": "L"}, 422, "validation_failed"),
        ({"quantity": -3, "lot": "L"}, 422, "validation_failed"),
        ({"quantity": 10**30, "lot": "L"}, 422, "validation_failed"),
        ({"quantity": "5", "lot": "L"}, 422, "validation_failed"),
        ({"quantity": 5, "lot": "L", "expires_on": "31/12/2099"}, 422, "validation_failed"),
        ({"quantity": 5, "lot": "../../etc"}, 422, "invalid_stock"),
        ({"quantity": 5, "lot": "L", "dc": "east; drop"}, 422, "invalid_stock"),
        ({"quantity": 5, "lot": "L", "extra": 1}, 422, "validation_failed"),
    ],
)
async def test_bad_receipts_are_refused_and_change_nothing(
    server: Server, body: dict[str, Any], status: int, code: str
) -> None:
    operator = server.client(server.login())
    product_id = await new_product(server, stock=3)
    before = (await operator.get(f"/api/v1/inventory/{product_id}")).json()
    refused = await operator.post(f"/api/v1/inventory/{product_id}/receipts", json=body)
    assert refused.status_code == status, refused.text
    assert refused.json()["code"] == code
    assert (await operator.get(f"/api/v1/inventory/{product_id}")).json() == before


async def test_unknown_products_and_lots_are_404_and_customers_cannot_receive(
    server: Server,
) -> None:
    operator = server.client(server.login())
    customer = server.client(server.register_customer()["token"])
    unknown = await operator.post(
        "/api/v1/inventory/no-such-product/receipts", json={"quantity": 1, "lot": "L"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "product_not_found"
    assert (await operator.post("/api/v1/inventory/lots/nope/quarantine")).status_code == 404
    product_id = await new_product(server, stock=2)
    sneaky = await customer.post(
        f"/api/v1/inventory/{product_id}/receipts", json={"quantity": 99, "lot": "L"}
    )
    assert (sneaky.status_code, sneaky.json()["code"]) == (403, "operator_only")
    assert (await customer.get(f"/api/v1/inventory/{product_id}")).json()["atp"] == 2


@needs_services
@pytest.mark.distributed
async def test_racing_orders_get_inventory_reserved_or_insufficient_on_the_wire(
    distributed_backend: Backend, tmp_path: Path
) -> None:
    deployed = deploy(distributed_backend, tmp_path)
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{distributed_backend.namespace}.inventory")
        tap = await channel.declare_queue(exclusive=True)
        for kind in ("inventory.reserved", "inventory.insufficient"):
            await tap.bind(exchange, routing_key=kind)
        heard: list[dict[str, Any]] = []

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                heard.append(orjson.loads(message.body))

        await tap.consume(keep)

        # given 5 units and 8 customers ordering one each at once
        product = await create_product(deployed, unique("RACE"), 5)
        body = {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
        customers = [deployed.customer()["token"] for _ in range(8)]
        answers = await asyncio.gather(
            *(deployed.ordering.client(c).post("/api/v1/orders", json=body) for c in customers)
        )
        accepted = [a.json()["order_id"] for a in answers if a.status_code == 201]
        assert len(accepted) >= 5

        # then every accepted order is answered on the wire, and exactly 5 units are reserved
        async def answered() -> bool:
            return len(heard) >= len(accepted)

        await eventually(answered)
        reserved = [e for e in heard if e["event_type"] == "inventory.reserved"]
        short = [e for e in heard if e["event_type"] == "inventory.insufficient"]
        assert len(reserved) == 5
        assert len(short) == len(accepted) - 5
        assert {e["data"]["orderId"] for e in heard} == set(accepted)
        assert reserved[0]["source"] == "inventory-service"
        assert reserved[0]["data"]["items"] == [
            {
                "productId": product,
                "quantity": 1,
                "dc": "MAIN",
                "lots": [{"lot": "INITIAL", "quantity": 1, "expiresOn": None}],
            }
        ]
        for event in short:
            assert event["data"]["items"] == [
                {"productId": product, "requested": 1, "available": 0}
            ]
        position = await deployed.inventory.client(deployed.operator_token).get(
            f"/api/v1/inventory/{product}"
        )
        assert position.json()["atp"] == 0
        assert position.json()["lots"][0]["reserved"] == 5
    finally:
        await connection.close()
        for server in deployed.servers:
            server.stop()
