"""Inventory over HTTP and on the broker: receipts by lot into the DCs operators made, ATP and
where each unit is, quarantine and expiry, shelf life, reservations."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest

from orderly.kernel.clock import utcnow
from tests.conftest import Backend, needs_services
from tests.e2e.conftest import BACKENDS, Deployment, deploy, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import AMQP_URL, unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with shared_deployment(request.param, tmp_path_factory.mktemp("inventory")) as running:
        yield running


def operator(deployed: Deployment) -> httpx.AsyncClient:
    return deployed.inventory.client(deployed.operator_token)


def customer(deployed: Deployment) -> httpx.AsyncClient:
    return deployed.inventory.client(deployed.customer()["token"])


async def new_product(deployed: Deployment, stock: int = 0) -> str:
    return await create_product(deployed, unique("INV"), stock)


async def new_dc(deployed: Deployment) -> str:
    """A distribution centre of this test's own (the deployment is the module's)."""
    code = f"DC-{uuid.uuid4().hex[:8].upper()}"
    made = await operator(deployed).post(
        "/api/v1/inventory/dcs", json={"code": code, "name": f"Depot {code}"}
    )
    assert made.status_code == 201, made.text
    return code


def adds_up(position: dict[str, Any]) -> bool:
    """Each DC's units are counted once, and the position's figures are its DCs' sums."""
    parts = ("hard_reserved", "blocked", "soft_reserved", "safety_stock", "atp")
    for dc in position["dcs"]:
        assert dc["on_hand"] == sum(dc[part] for part in parts), dc
    for figure in (*parts, "on_hand", "safety_stock_level"):
        assert position[figure] == sum(dc[figure] for dc in position["dcs"]), figure
    return True


async def test_receipts_by_lot_make_atp_and_quarantine_takes_it_away(
    deployed: Deployment,
) -> None:
    ops = operator(deployed)
    buyer = customer(deployed)
    product_id = await new_product(deployed)
    east = await new_dc(deployed)
    receipts = f"/api/v1/inventory/{product_id}/receipts"
    first = {"quantity": 40, "lot": "A1", "expires_on": "2099-03-31"}
    a = await ops.post(receipts, json=first)
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
    other = {"quantity": 25, "lot": "B7", "expires_on": "2099-06-30", "dc": east}
    assert (await ops.post(receipts, json=other)).status_code == 201
    # the same lot again adds to it; with another expiry it is refused
    assert (await ops.post(receipts, json=other)).json()["on_hand"] == 50
    mismatch = await ops.post(receipts, json={**other, "expires_on": "2099-07-31"})
    assert mismatch.status_code == 409
    assert mismatch.json()["code"] == "lot_mismatch"

    position = (await ops.get(f"/api/v1/inventory/{product_id}")).json()
    assert position["atp"] == 90
    assert [(dc["dc"], dc["atp"]) for dc in position["dcs"]] == [(east, 50), ("MAIN", 40)]
    assert len(position["lots"]) == 2
    # a customer sees ATP, not the lots
    seen = (await buyer.get(f"/api/v1/inventory/{product_id}")).json()
    assert seen["atp"] == 90
    assert "lots" not in seen

    await ops.put(f"/api/v1/inventory/{product_id}/safety-stock/MAIN", json={"units": 10})
    quarantined = await ops.post(f"/api/v1/inventory/lots/{a.json()['lot_id']}/quarantine")
    assert quarantined.json()["status"] == "quarantined"
    after = (await buyer.get(f"/api/v1/inventory/{product_id}")).json()
    assert after["atp"] == 50
    main = next(dc for dc in after["dcs"] if dc["dc"] == "MAIN")
    # nothing usable is left in MAIN: its safety stock keeps nothing back
    assert main == {
        "dc": "MAIN",
        "on_hand": 40,
        "hard_reserved": 0,
        "blocked": 40,
        "soft_reserved": 0,
        "safety_stock": 0,
        "safety_stock_level": 10,
        "atp": 0,
    }
    assert adds_up(after)
    check = await buyer.post(
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
        ({"quantity": 5, "lot": "L", "dc": "NOWHERE"}, 422, "unknown_dc"),
        ({"quantity": 5, "lot": "L", "extra": 1}, 422, "validation_failed"),
    ],
)
async def test_bad_receipts_are_refused_and_change_nothing(
    deployed: Deployment, body: dict[str, Any], status: int, code: str
) -> None:
    ops = operator(deployed)
    product_id = await new_product(deployed, stock=3)
    before = (await ops.get(f"/api/v1/inventory/{product_id}")).json()
    refused = await ops.post(f"/api/v1/inventory/{product_id}/receipts", json=body)
    assert refused.status_code == status, refused.text
    assert refused.json()["code"] == code
    assert (await ops.get(f"/api/v1/inventory/{product_id}")).json() == before


async def test_unknown_products_and_lots_are_404_and_customers_cannot_receive(
    deployed: Deployment,
) -> None:
    ops = operator(deployed)
    buyer = customer(deployed)
    unknown = await ops.post(
        "/api/v1/inventory/no-such-product/receipts", json={"quantity": 1, "lot": "L"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "product_not_found"
    assert (await ops.post("/api/v1/inventory/lots/nope/quarantine")).status_code == 404
    product_id = await new_product(deployed, stock=2)
    sneaky = await buyer.post(
        f"/api/v1/inventory/{product_id}/receipts", json={"quantity": 99, "lot": "L"}
    )
    assert (sneaky.status_code, sneaky.json()["code"]) == (403, "operator_only")
    assert (await buyer.get(f"/api/v1/inventory/{product_id}")).json()["atp"] == 2


async def test_an_expired_lot_is_received_blocked_and_stays_blocked(deployed: Deployment) -> None:
    ops = operator(deployed)
    product_id = await new_product(deployed)
    receipts = f"/api/v1/inventory/{product_id}/receipts"
    today = utcnow().date()

    # given lots that expired yesterday, that expire today, and that expire tomorrow
    expired = await ops.post(
        receipts,
        json={"quantity": 30, "lot": "OLD", "expires_on": str(today - timedelta(days=1))},
    )
    ending = await ops.post(
        receipts, json={"quantity": 20, "lot": "TODAY", "expires_on": str(today)}
    )
    fresh = await ops.post(
        receipts,
        json={"quantity": 7, "lot": "NEW", "expires_on": str(today + timedelta(days=1))},
    )

    # then the first two are received expired (blocked), the last one released
    assert expired.status_code == 201, expired.text
    assert [r.json()["status"] for r in (expired, ending, fresh)] == [
        "expired",
        "expired",
        "released",
    ]
    position = (await ops.get(f"/api/v1/inventory/{product_id}")).json()
    assert position["atp"] == 7
    assert {lot["lot"]: lot["status"] for lot in position["lots"]} == {
        "OLD": "expired",
        "TODAY": "expired",
        "NEW": "released",
    }
    assert (position["dcs"][0]["blocked"], position["dcs"][0]["atp"]) == (50, 7)
    check = await customer(deployed).post(
        "/api/v1/products/check-availability",
        json={"items": [{"product_id": product_id, "quantity": 8}]},
    )
    assert check.json()["items"][0]["available"] == 7

    # and an expired lot is never released: 409, and nothing changes
    released = await ops.post(f"/api/v1/inventory/lots/{expired.json()['lot_id']}/release")
    assert released.status_code == 409, released.text
    assert released.json()["code"] == "lot_expired"
    assert (await ops.get(f"/api/v1/inventory/{product_id}")).json() == position


async def test_distribution_centres_are_made_on_purpose(deployed: Deployment) -> None:
    ops = operator(deployed)
    product_id = await new_product(deployed, stock=4)
    code = f"DC-{uuid.uuid4().hex[:8].upper()}"
    before = (await ops.get(f"/api/v1/inventory/{product_id}")).json()

    # a DC nobody made takes no receipt and no safety stock
    receipt = {"quantity": 5, "lot": "L1", "dc": code}
    refused = await ops.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_dc")
    safety = f"/api/v1/inventory/{product_id}/safety-stock/{code}"
    refused = await ops.put(safety, json={"units": 1})
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_dc")
    assert (await ops.get(f"/api/v1/inventory/{product_id}")).json() == before
    listed = (await ops.get("/api/v1/inventory/dcs")).json()
    assert "MAIN" in [dc["code"] for dc in listed]
    assert code not in [dc["code"] for dc in listed]

    # an operator makes it, once; then it takes stock
    made = await ops.post("/api/v1/inventory/dcs", json={"code": code, "name": "West depot"})
    assert made.status_code == 201, made.text
    assert made.json()["code"] == code
    assert made.json()["name"] == "West depot"
    again = await ops.post("/api/v1/inventory/dcs", json={"code": code, "name": "Other"})
    assert (again.status_code, again.json()["code"]) == (409, "dc_exists")
    bad = await ops.post("/api/v1/inventory/dcs", json={"code": "west depot", "name": "W"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_stock")
    listed = (await ops.get("/api/v1/inventory/dcs")).json()
    assert {"code": code, "name": "West depot"} in [
        {"code": dc["code"], "name": dc["name"]} for dc in listed
    ]
    taken = await ops.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
    assert taken.status_code == 201, taken.text
    assert (await ops.put(safety, json={"units": 1})).status_code == 200
    assert (await ops.get(f"/api/v1/inventory/{product_id}")).json()["atp"] == 4 + 5 - 1

    # customers neither make nor list them
    buyer = customer(deployed)
    sneaky = await buyer.post("/api/v1/inventory/dcs", json={"code": "MINE", "name": "Mine"})
    assert sneaky.status_code == 404
    assert (await buyer.get("/api/v1/inventory/dcs")).status_code == 404


async def test_a_shelf_life_is_kept_only_for_an_account_identity_opened(
    deployed: Deployment,
) -> None:
    ops = operator(deployed)
    account_id = f"PH-{10_000 + uuid.uuid4().int % 90_000}"
    setting = f"/api/v1/inventory/shelf-life/{account_id}"

    # no such account: refused
    refused = await ops.put(setting, json={"days": 180})
    assert (refused.status_code, refused.json()["code"]) == (404, "account_not_found")

    # identity opens it; inventory learns it from account.created
    email = f"admin-{uuid.uuid4().hex[:8]}@pharmacy.example"
    deployed.identity.create_account(account_id, email, "pharmacy password 1")

    async def kept() -> httpx.Response | None:
        answer = await ops.put(setting, json={"days": 180})
        return answer if answer.status_code == 200 else None

    assert (await eventually(kept)).json() == {"account_id": account_id, "days": 180}


async def test_the_figures_of_each_dc_add_up_to_the_position(deployed: Deployment) -> None:
    ops = operator(deployed)
    product_id = await new_product(deployed)
    receipts = f"/api/v1/inventory/{product_id}/receipts"
    position = f"/api/v1/inventory/{product_id}"
    a = await ops.post(receipts, json={"quantity": 10, "lot": "A"})
    await ops.post(receipts, json={"quantity": 5, "lot": "B"})
    # given an order holding 8 units of lot A and a cart holding 4 more
    buyer = deployed.customer()["token"]
    order = {"items": [{"product_id": product_id, "quantity": 8}], "shipping_address": ADDRESS}
    placed = await deployed.ordering.client(buyer).post("/api/v1/orders", json=order)
    assert placed.status_code == 201, placed.text
    shopper = deployed.ordering.client(deployed.customer()["token"])
    line = {"product_id": product_id, "quantity": 4}
    assert (await shopper.post("/api/v1/cart/items", json=line)).status_code in (200, 201)

    async def held() -> bool:
        main = (await ops.get(position)).json()["dcs"][0]
        return bool(main["hard_reserved"] == 8 and main["soft_reserved"] == 4)

    await eventually(held)

    # when lot A is quarantined under the order, and MAIN keeps 3 back
    await ops.put(f"{position}/safety-stock/MAIN", json={"units": 3})
    await ops.post(f"/api/v1/inventory/lots/{a.json()['lot_id']}/quarantine")

    # then every unit of MAIN is counted once
    seen = (await customer(deployed).get(position)).json()
    assert seen["dcs"] == [
        {
            "dc": "MAIN",
            "on_hand": 15,
            "hard_reserved": 8,
            "blocked": 2,
            "soft_reserved": 4,
            "safety_stock": 1,
            "safety_stock_level": 3,
            "atp": 0,
        }
    ]
    # and with stock in another DC too, the DCs add up to the whole
    other = await new_dc(deployed)
    await ops.post(receipts, json={"quantity": 6, "lot": "C", "dc": other})
    seen = (await customer(deployed).get(position)).json()
    assert adds_up(seen)
    assert (seen["on_hand"], seen["atp"]) == (21, 6)


@needs_services
@pytest.mark.distributed
async def test_racing_orders_get_inventory_reserved_or_insufficient_on_the_wire(
    distributed_backend: Backend, tmp_path: Path
) -> None:
    deployed = deploy(distributed_backend, tmp_path)
    connection = await aio_pika.connect_robust(AMQP_URL, timeout=30)
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
