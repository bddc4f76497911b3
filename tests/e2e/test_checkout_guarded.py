"""Seed 003, the guarded checkout, over HTTP: an orchestrated saga reserves and pays, or
releases the stock when the payment fails; operators follow it by API and CLI."""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.conftest import BACKENDS, Deployment, deploy, shared_deployment
from tests.e2e.server import embedded, stocked
from tests.e2e.test_checkout_b2c import atp, heard, place, settled
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.wire import tapped
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One deployment per mode for the module: each test works with its own customers and
    products."""
    with shared_deployment(request.param, tmp_path_factory.mktemp("guarded")) as running:
        yield running


@pytest.fixture(scope="module")
def embedded_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with shared_deployment("embedded", tmp_path_factory.mktemp("guarded-one")) as running:
        yield running


def guarded(product_id: str, quantity: int, payment_method: str = "tok_visa") -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": payment_method,
        "channel": "guarded",
    }


async def saga(deployed: Deployment, order_id: str) -> dict[str, Any]:
    client = deployed.ordering.client(deployed.operator_token)
    found = await client.get(f"/api/v1/sagas/{order_id}")
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def test_a_guarded_checkout_waits_for_its_saga_and_is_placed(
    deployment: Deployment,
) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("G"), 5)

        placed = await place(sales, guarded(product, 2))
        # the request waited for the outcome: PLACED
        assert placed.status_code == 201, placed.text
        assert placed.json()["status"] == "PLACED"
        assert placed.json()["total_amount"] == "99.98"
        order_id = placed.json()["order_id"]

        order = (await sales.get(f"/api/v1/orders/{order_id}")).json()
        assert [h["status"] for h in order["history"]] == ["PENDING", "PLACED"]
        types = await heard(
            wire,
            order_id,
            "order.created",
            "inventory.reserve",
            "inventory.reserved",
            "payment.charge",
            "payment.completed",
        )
        assert types.index("inventory.reserve") < types.index("inventory.reserved")
        assert types.index("inventory.reserved") < types.index("payment.charge")
        assert types.index("payment.charge") < types.index("payment.completed")
        assert "order.confirmed" not in types  # orchestrated, not choreographed

        shown = await saga(deployment, order_id)
        assert shown["state"] == "completed"
        assert [(s["name"], s["status"], s["attempts"]) for s in shown["steps"]] == [
            ("check", "succeeded", 1),
            ("reserve", "succeeded", 1),
            ("pay", "succeeded", 1),
        ]
        assert all(s["finished_at"] for s in shown["steps"])
        assert await atp(deployment, product) == 3
        pay = deployment.payments.client(customer["token"])
        [payment] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
        assert payment["status"] == "captured"

        # sagas are for operators: a customer is told so about its own order's; operators
        # can list them, and the CLI shows them
        refused = await sales.get(f"/api/v1/sagas/{order_id}")
        assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")
        listed = await deployment.ordering.client(deployment.operator_token).get(
            "/api/v1/sagas", params={"state": "completed"}
        )
        assert order_id in [s["id"] for s in listed.json()]
        shown_cli = deployment.ordering.cli("sagas", "show", order_id)
        assert shown_cli.returncode == 0, shown_cli.stderr
        assert "completed" in shown_cli.stdout
        assert "reserve" in shown_cli.stdout
        assert order_id in deployment.ordering.cli("sagas", "list").stdout


async def test_a_failed_payment_releases_the_stock_and_ends_payment_failed(
    deployment: Deployment,
) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("G"), 5)

        key = {"Idempotency-Key": unique("declined")}
        placed = await place(sales, guarded(product, 2, "tok_decline"), **key)
        # seed 003's "Order Failed (Payment Issue)": a problem that names the order, never a 201
        assert placed.status_code == 402, placed.text
        assert placed.headers["content-type"] == "application/problem+json"
        failed = placed.json()
        assert (failed["code"], failed["order_status"]) == ("payment_failed", "PAYMENT_FAILED")
        order_id = failed["order_id"]
        assert placed.headers["location"] == f"/api/v1/orders/{order_id}"
        # the same request again answers the same
        again = await sales.post(
            "/api/v1/orders", json=guarded(product, 2, "tok_decline"), headers=key
        )
        assert again.status_code == 402, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert (again.json()["code"], again.json()["order_id"]) == ("payment_failed", order_id)

        types = await heard(
            wire, order_id, "payment.failed", "inventory.release", "inventory.released"
        )
        # the compensation comes after the failure, and undoes the reservation
        assert types.index("payment.failed") < types.index("inventory.release")
        assert "payment.completed" not in types
        shown = await saga(deployment, order_id)
        assert shown["state"] == "compensated"
        assert shown["reason"] == "card_declined"
        assert [(s["name"], s["status"]) for s in shown["steps"]] == [
            ("check", "succeeded"),
            ("reserve", "compensated"),
            ("pay", "failed"),
        ]
        assert await atp(deployment, product) == 5
        order = (await sales.get(f"/api/v1/orders/{order_id}")).json()
        assert [h["status"] for h in order["history"]] == ["PENDING", "PAYMENT_FAILED"]


async def test_orders_that_race_for_the_last_unit_end_placed_or_say_why_not(
    embedded_deployment: Deployment,
) -> None:
    deployment = embedded_deployment
    sales = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("G"), 2)
    first = await place(sales, guarded(product, 1))  # now ordering knows the product
    assert first.status_code == 201, first.text
    answers = await asyncio.gather(
        *(sales.post("/api/v1/orders", json=guarded(product, 1)) for _ in range(6))
    )
    outcomes = sorted((a.status_code, a.json().get("code")) for a in answers)
    # one is placed; the others are refused by the check (nothing written) or, when the
    # check passed but the stock was gone by the reservation, cancelled: never a 201
    assert outcomes[0] == (201, None)
    assert set(outcomes[1:]) <= {(400, "insufficient_stock"), (409, "order_cancelled")}
    for answer in answers:
        if answer.status_code == 409:
            cancelled = answer.json()
            assert cancelled["order_status"] == "CANCELLED"
            shown = await sales.get(f"/api/v1/orders/{cancelled['order_id']}")
            assert shown.json()["status"] == "CANCELLED"


async def test_the_document_lists_how_a_guarded_order_can_end(
    embedded_deployment: Deployment,
) -> None:
    client = embedded_deployment.ordering.client(embedded_deployment.operator_token)
    document = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/orders", "/api/v1/cart/checkout"):
        responses = document["paths"][path]["post"]["responses"]
        for status, code in (("402", "payment_failed"), ("409", "order_cancelled")):
            schema = responses[status]["content"]["application/problem+json"]["schema"]
            assert code in schema["properties"]["code"]["enum"], (path, status)


async def test_a_short_order_is_refused_before_it_exists(embedded_deployment: Deployment) -> None:
    deployment = embedded_deployment
    sales = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("G"), 1)
    refused = await place(sales, guarded(product, 2))
    assert refused.status_code == 400
    assert refused.json()["code"] == "insufficient_stock"
    assert (await sales.get("/api/v1/orders")).json() == []


async def test_an_outcome_slower_than_the_wait_answers_202_and_the_client_polls(
    tmp_path: Path,
) -> None:
    with embedded(tmp_path, ORDERLY_CHECKOUT_WAIT="0") as server:
        operator = server.client(server.login())
        customer = server.register_customer()
        sales = server.client(customer["token"])
        product = await new_product(operator, 3)
        key = {"Idempotency-Key": unique("g")}
        accepted = await place(sales, guarded(product, 1), **key)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["status"] == "PENDING"
        order_id = accepted.json()["order_id"]
        await settled(sales, order_id, "PLACED")
        # the same request again answers what the first did
        again = await sales.post("/api/v1/orders", json=guarded(product, 1), headers=key)
        assert again.status_code == 200
        assert again.json()["order_id"] == order_id
        assert len((await sales.get("/api/v1/orders")).json()) == 1


@needs_services
@pytest.mark.distributed
async def test_with_inventory_down_the_breaker_opens_orders_proceed_on_fallback_and_are_reverified(
    distributed_backend: Backend, tmp_path: Path
) -> None:
    deployed = deploy(
        distributed_backend,
        tmp_path,
        ORDERLY_BREAKER_THRESHOLD="2",
        ORDERLY_BREAKER_TTL="1",
        ORDERLY_CHECKOUT_WAIT="1",
        ORDERLY_SWEEP_INTERVAL="0.2",
    )
    try:
        sales = deployed.ordering.client(deployed.customer()["token"])
        product = await create_product(deployed, unique("G"), 10)
        # a live check first: ordering keeps what inventory said
        first = await place(sales, guarded(product, 1))
        assert first.json()["status"] == "PLACED"
        assert breaker_open(deployed) == 0

        # when inventory goes away
        deployed.inventory.stop()
        answers = [await sales.post("/api/v1/orders", json=guarded(product, 1)) for _ in range(4)]
        # then orders are still taken, on the last known ATP, and wait for their reservation
        assert [a.status_code for a in answers] == [202] * 4
        assert {a.json()["status"] for a in answers} == {"PENDING"}
        # the breaker opened after two failed calls; later checks did not even try
        assert breaker_open(deployed) == 1
        assert fallback_checks(deployed) == 4
        orders = [a.json()["order_id"] for a in answers]
        # while a checkout waits for its outcome, the same request again is told so
        key = {"Idempotency-Key": unique("k")}
        waiting, again = await asyncio.gather(
            sales.post("/api/v1/orders", json=guarded(product, 1), headers=key),
            sales.post("/api/v1/orders", json=guarded(product, 1), headers=key),
        )
        assert sorted([waiting.status_code, again.status_code]) == [202, 409]
        refused = waiting if waiting.status_code == 409 else again
        assert refused.json()["code"] == "idempotency_key_in_use"
        accepted = again if refused is waiting else waiting
        orders.append(accepted.json()["order_id"])
        later = await sales.post("/api/v1/orders", json=guarded(product, 1), headers=key)
        assert (later.status_code, later.json()["order_id"]) == (200, orders[-1])
        for order_id in orders:
            shown = await saga(deployed, order_id)
            assert shown["steps"][0]["detail"] == {"source": "fallback"}

        # when inventory is back, the fallback orders' reservations go through: inventory
        # itself re-verifies them, and they are placed
        deployed.inventory.start().wait_ready()
        for order_id in orders:
            order = await settled(sales, order_id, "PLACED")
            notes = [h["details"] for h in order["history"] if "event" in h["details"]]
            assert notes == [{"event": "reverified", "available": True}]

        # and the next check, let through once the breaker's time is up, closes it again
        async def live_again() -> bool:
            answer = await sales.post("/api/v1/orders", json=guarded(product, 1))
            return answer.status_code == 201 and breaker_open(deployed) == 0

        await eventually(live_again, within=30)
        last = (await sales.get("/api/v1/orders")).json()[0]["order_id"]
        assert (await saga(deployed, last))["steps"][0]["detail"] == {"source": "inventory"}
        # every order holds its unit, and no more: stock balances
        placed = (await sales.get("/api/v1/orders")).json()
        for order in placed:
            await settled(sales, order["order_id"], "PLACED")
        assert await atp(deployed, product) == 10 - len(placed)
    finally:
        for server in deployed.servers:
            server.stop()


def _metric(deployed: Deployment, name: str) -> float:
    headers = {"Authorization": f"Bearer {deployed.operator_token}"}
    answer = httpx.get(f"{deployed.ordering.url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200
    text = answer.text
    for line in text.splitlines():
        if line.startswith(f'{name}{{circuit="inventory"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def breaker_open(deployed: Deployment) -> float:
    return _metric(deployed, "orderly_circuit_breaker_open")


def fallback_checks(deployed: Deployment) -> float:
    return _metric(deployed, "orderly_fallback_checks_total")


async def test_a_guarded_order_cancelled_while_its_saga_runs_gives_everything_back(
    tmp_path: Path,
) -> None:
    with embedded(tmp_path, ORDERLY_CHECKOUT_WAIT="0") as server:
        operator = server.client(server.login())
        customer = server.register_customer()
        sales = server.client(customer["token"])
        product = await new_product(operator, 9)
        orders = []
        for _ in range(5):  # the cancel meets the saga at different steps
            accepted = await place(sales, guarded(product, 1))
            assert accepted.status_code == 202
            order_id = accepted.json()["order_id"]
            cancelled = await sales.post(f"/api/v1/orders/{order_id}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            orders.append(order_id)

        payments = server.client(customer["token"])
        for order_id in orders:

            async def ended(order_id: str = order_id) -> dict[str, Any] | None:
                found = (await operator.get(f"/api/v1/sagas/{order_id}")).json()
                return found if found["state"] in {"completed", "compensated"} else None

            await eventually(ended)
            # the saga's late moves never undo the cancellation
            order = (await sales.get(f"/api/v1/orders/{order_id}")).json()
            assert order["status"] == "CANCELLED"

            async def settled_payment(order_id: str = order_id) -> str | None:
                found = await payments.get(f"/api/v1/payments/order/{order_id}")
                if found.status_code != 200:
                    return None
                status = str(found.json()[0]["status"])
                return status if status in {"cancelled", "failed", "refunded"} else None

            await eventually(settled_payment)

        async def stock_balances() -> bool:
            return await _atp(operator, product) == 9

        await eventually(stock_balances)


async def new_product(operator: httpx.AsyncClient, units: int) -> str:
    """A product at 2.00 with `units` in stock, once inventory holds them."""
    made = await operator.post(
        "/api/v1/products", json={"name": "G", "sku": unique("G"), "price": "2.00", "stock": units}
    )
    product_id: str = made.json()["id"]
    await stocked(operator, product_id, units)
    return product_id


async def _atp(operator: httpx.AsyncClient, product_id: str) -> int:
    return int((await operator.get(f"/api/v1/inventory/{product_id}")).json()["atp"])


async def test_the_order_list_filters_by_status_channel_and_time_and_sorts(
    deployment: Deployment,
) -> None:
    customer = deployment.customer()
    sales = deployment.ordering.client(customer["token"])
    product = await create_product(deployment, unique("F"), 20)
    direct = await place(
        sales, {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
    )
    assert direct.status_code == 201, direct.text
    placed = await place(sales, guarded(product, 2))
    declined = await place(sales, guarded(product, 3, "tok_decline"))
    assert (placed.status_code, declined.status_code) == (201, 402)
    ids = {
        "direct": direct.json()["order_id"],
        "placed": placed.json()["order_id"],
        "declined": declined.json()["order_id"],
    }
    # someone else's order never shows
    other = deployment.ordering.client(deployment.customer()["token"])
    assert (await place(other, guarded(product, 1))).status_code == 201

    async def listed(**params: Any) -> list[str]:
        answer = await sales.get("/api/v1/orders", params=params)
        assert answer.status_code == 200, answer.text
        return [o["order_id"] for o in answer.json()]

    newest_first = [ids["declined"], ids["placed"], ids["direct"]]
    assert await listed() == newest_first
    assert await listed(status="PLACED") == [ids["placed"]]
    assert await listed(status=["PAYMENT_FAILED", "PENDING_SHIPMENT"]) == [
        ids["declined"],
        ids["direct"],
    ]
    assert await listed(channel="direct") == [ids["direct"]]
    assert await listed(channel="direct", status="PLACED") == []
    assert await listed(sort="created_at") == newest_first[::-1]
    assert await listed(sort="-total_amount") == [ids["declined"], ids["placed"], ids["direct"]]
    assert await listed(sort="total_amount", limit=2, offset=1) == [ids["placed"], ids["declined"]]
    today = (await sales.get(f"/api/v1/orders/{ids['direct']}")).json()["created_at"][:10]
    assert await listed(created_from=today, created_to=today) == newest_first
    assert await listed(created_to="2000-01-01") == []
    assert await listed(created_from="2999-01-01T00:00:00Z") == []
    operator = deployment.ordering.client(deployment.operator_token)
    everyone = (await operator.get("/api/v1/orders", params={"status": "PLACED"})).json()
    assert {ids["placed"]} < {o["order_id"] for o in everyone}
    assert {o["status"] for o in everyone} == {"PLACED"}

    # unknown values are refused, with the values allowed
    for path, params in (
        ("/api/v1/orders", {"status": "SHIPPING"}),
        ("/api/v1/orders", {"channel": "retail"}),
        ("/api/v1/orders", {"sort": "price"}),
        ("/api/v1/orders", {"created_from": "2026-02-30"}),
        ("/api/v1/sagas", {"state": "done"}),
        ("/api/v1/shipments", {"status": "LOST"}),
    ):
        server = deployment.fulfillment if "shipments" in path else deployment.ordering
        refused = await server.client(deployment.operator_token).get(path, params=params)
        assert refused.status_code == 422, (path, params, refused.text)
        assert refused.json()["code"] == "validation_failed"
    backwards = {"created_from": "2026-02-02", "created_to": "2026-02-01T23:59:59Z"}
    inverted = await sales.get("/api/v1/orders", params=backwards)
    assert (inverted.status_code, inverted.json()["code"]) == (422, "invalid_date_range")
    unknown = (await sales.get("/api/v1/orders", params={"status": "SHIPPING"})).json()
    assert "PAYMENT_FAILED" in unknown["errors"][0]["msg"]
    assert "PLACED" in unknown["errors"][0]["msg"]
    state = (await operator.get("/api/v1/sagas", params={"state": "done"})).json()
    assert "compensated" in state["errors"][0]["msg"]


async def test_shipments_filter_by_status(deployment: Deployment) -> None:
    sales = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("S"), 5)
    made = await place(
        sales, {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
    )
    order_id = made.json()["order_id"]
    shipping = deployment.fulfillment.client(sales.headers["authorization"].split()[1])

    async def shipment() -> list[dict[str, Any]] | None:
        found = (await shipping.get("/api/v1/shipments")).json()
        return found or None

    await eventually(shipment)
    pending = await shipping.get("/api/v1/shipments", params={"status": "PENDING_SHIPMENT"})
    assert [s["order_id"] for s in pending.json()] == [order_id]
    assert (await shipping.get("/api/v1/shipments", params={"status": "SHIPPED"})).json() == []
    by_order = {"order_id": order_id, "status": ["SHIPPED", "DELIVERED"]}
    assert (await shipping.get("/api/v1/shipments", params=by_order)).json() == []


MONEY = {"price", "unit_price", "line_total", "total", "total_amount", "amount"}


def wire_faults(body: Any, at: str = "") -> list[str]:
    """Keys not in snake_case, and money not written as a decimal string with its cents."""
    faults = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key != key.lower():
                faults.append(f"{at}.{key}: not snake_case")
            if (
                key in MONEY
                and value is not None
                and not (isinstance(value, str) and re.fullmatch(r"-?\d+\.\d\d", value))
            ):
                faults.append(f"{at}.{key}: money as {value!r}")
            faults += wire_faults(value, f"{at}.{key}")
    elif isinstance(body, list):
        for item in body:
            faults += wire_faults(item, f"{at}[]")
    return faults


async def test_the_rest_answers_in_snake_case_with_money_as_decimal_strings(
    deployment: Deployment,
) -> None:
    customer = deployment.customer()
    token = customer["token"]
    product = await create_product(deployment, unique("W"), 5)
    placed = await place(deployment.ordering.client(token), guarded(product, 2))
    order_id = placed.json()["order_id"]
    cart = deployment.ordering.client(token)
    assert (
        await cart.post("/api/v1/cart/items", json={"product_id": product, "quantity": 1})
    ).status_code == 201
    answers = {
        (deployment.catalog, token, f"/api/v1/products/{product}"),
        (deployment.catalog, token, "/api/v1/products"),
        (deployment.ordering, token, f"/api/v1/orders/{order_id}"),
        (deployment.ordering, token, "/api/v1/orders"),
        (deployment.ordering, token, "/api/v1/cart"),
        (deployment.payments, token, f"/api/v1/payments/order/{order_id}"),
        (deployment.fulfillment, token, "/api/v1/shipments"),
        (deployment.pricing, token, f"/api/v1/prices?product={product}"),
        (deployment.inventory, deployment.operator_token, f"/api/v1/inventory/{product}"),
        (deployment.ordering, deployment.operator_token, f"/api/v1/sagas/{order_id}"),
        (deployment.ordering, deployment.operator_token, "/api/v1/sagas"),
        (deployment.pricing, deployment.operator_token, f"/api/v1/prices/locks/{order_id}"),
    }
    faults = []
    for server, bearer, path in answers:
        answer = await server.client(bearer).get(path)
        assert answer.status_code == 200, (path, answer.text)
        faults += wire_faults(answer.json(), path)
    assert faults == []
    shown = await saga(deployment, order_id)
    assert shown["data"]["order_id"] == order_id
    assert shown["data"]["amount"] == "99.98"
