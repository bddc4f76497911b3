"""Seed 002 Flow 3, the choreographed B2C checkout, over HTTP with its events on the wire:
every branch ends in a state the order, the stock, the payment and the shipment agree on."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.wire import Wire, tapped
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One deployment per mode for the module: each test works with its own customers and
    products."""
    with shared_deployment(request.param, tmp_path_factory.mktemp("b2c")) as running:
        yield running


@pytest.fixture(scope="module")
def embedded_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with shared_deployment("embedded", tmp_path_factory.mktemp("b2c-one")) as running:
        yield running


async def place(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    """POST an order once ordering has heard of its products (it prices them from its copy)."""

    async def attempt() -> httpx.Response | None:
        response = await client.post("/api/v1/orders", json=body, headers=headers)
        if response.status_code == 422 and response.json()["code"] == "unknown_product":
            return None
        return response

    return await eventually(attempt)


def b2c(product_id: str, quantity: int, payment_method: str = "tok_visa") -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": payment_method,
        "channel": "b2c",
    }


async def settled(client: httpx.AsyncClient, order_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        order: dict[str, Any] = (await client.get(f"/api/v1/orders/{order_id}")).json()
        return order if order["status"] == status else None

    return await eventually(reached)


async def atp(deployed: Deployment, product_id: str) -> int:
    client = deployed.inventory.client(deployed.operator_token)
    return int((await client.get(f"/api/v1/inventory/{product_id}")).json()["atp"])


async def shipment_status(deployed: Deployment, order_id: str, wanted: str) -> bool:
    client = deployed.fulfillment.client(deployed.operator_token)
    found = (await client.get("/api/v1/shipments", params={"order_id": order_id})).json()
    return bool(found) and found[0]["status"] == wanted


async def heard(wire: Wire, order_id: str, *wanted: str) -> list[str]:
    """The event types about the order, once every one of `wanted` was published."""

    async def all_there() -> list[str] | None:
        types = await wire.types(order_id)
        return types if all(w in types for w in wanted) else None

    return await eventually(all_there)


async def test_a_paid_order_is_confirmed_then_processing(deployment: Deployment) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("B2C"), 5)

        placed = await place(sales, b2c(product, 2))
        assert placed.status_code == 201, placed.text
        answer = placed.json()
        assert answer["status"] == "pending"
        assert (answer["channel"], answer["total_amount"], answer["currency"]) == (
            "b2c",
            "99.98",
            "USD",
        )
        order_id = answer["order_id"]

        order = await settled(sales, order_id, "processing")
        assert [h["status"] for h in order["history"]] == ["pending", "confirmed", "processing"]
        types = await heard(
            wire, order_id, "order.created", "inventory.reserved", "order.confirmed"
        )
        types = await heard(wire, order_id, "payment.completed")
        assert types.index("order.created") < types.index("inventory.reserved")
        assert types.index("inventory.reserved") < types.index("order.confirmed")
        assert types.index("order.confirmed") < types.index("payment.completed")
        assert "order.cancelled" not in types
        created = next(e for e in await wire.events(order_id) if e["event_type"] == "order.created")
        assert created["data"]["userId"] == customer["userId"]
        assert created["data"]["totalAmount"] == "99.98"
        assert created["data"]["items"][0]["productId"] == product

        pay = deployment.payments.client(customer["token"])
        [payment] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
        assert (payment["status"], payment["amount"], payment["refunds"]) == (
            "captured",
            "99.98",
            [],
        )
        assert await atp(deployment, product) == 3
        await eventually(lambda: shipment_status(deployment, order_id, "PENDING_SHIPMENT"))


async def test_an_order_short_of_stock_is_cancelled_and_never_charged(
    deployment: Deployment,
) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("B2C"), 5)

        placed = await place(sales, b2c(product, 6))
        assert placed.status_code == 201
        order_id = placed.json()["order_id"]

        order = await settled(sales, order_id, "cancelled")
        assert order["history"][-1]["details"]["reason"] == "insufficient_inventory"
        # what inventory said, in the REST's casing
        [short] = order["history"][-1]["details"]["items"]
        assert (short["product_id"], short["requested"]) == (product, 6)
        types = await heard(wire, order_id, "inventory.insufficient", "order.cancelled")
        assert "order.confirmed" not in types
        assert "payment.completed" not in types
        cancelled = next(
            e for e in await wire.events(order_id) if e["event_type"] == "order.cancelled"
        )
        assert cancelled["data"]["reason"] == "insufficient_inventory"
        assert cancelled["data"]["items"][0]["productId"] == product

        pay = deployment.payments.client(customer["token"])

        # the order was never confirmed, so payments never heard of it: nothing was charged
        never = await pay.get(f"/api/v1/payments/order/{order_id}")
        assert never.status_code == 404
        assert never.json()["code"] == "payment_not_found"
        await eventually(lambda: shipment_status(deployment, order_id, "CANCELLED"))
        assert await atp(deployment, product) == 5


async def test_a_declined_payment_cancels_the_order_and_gives_the_stock_back(
    deployment: Deployment,
) -> None:
    await payment_fails(deployment, "tok_decline", "card_declined")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param("tok_timeout", "gateway_timeout", id="timeout"),
        pytest.param("tok_error", "gateway_error", id="error"),
    ],
)
async def test_a_gateway_that_fails_cancels_the_order_too(
    embedded_deployment: Deployment, token: str, reason: str
) -> None:
    await payment_fails(embedded_deployment, token, reason)


async def payment_fails(deployment: Deployment, token: str, reason: str) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("B2C"), 5)

        placed = await place(sales, b2c(product, 2, token))
        order_id = placed.json()["order_id"]

        order = await settled(sales, order_id, "cancelled")
        assert [h["status"] for h in order["history"]] == ["pending", "confirmed", "cancelled"]
        assert order["history"][-1]["details"]["reason"] == "payment_failed"
        types = await heard(wire, order_id, "payment.failed", "order.cancelled")
        assert "payment.completed" not in types
        assert "refund.created" not in types
        await heard(wire, order_id, "inventory.released")

        async def stock_back() -> bool:
            return await atp(deployment, product) == 5

        await eventually(stock_back)
        pay = deployment.payments.client(customer["token"])
        [payment] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
        assert (payment["status"], payment["reason"]) == ("failed", reason)
        await eventually(lambda: shipment_status(deployment, order_id, "CANCELLED"))


async def test_a_customer_cancels_a_paid_order_and_is_refunded(deployment: Deployment) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("B2C"), 5)
        order_id = (await place(sales, b2c(product, 2))).json()["order_id"]
        await settled(sales, order_id, "processing")

        # another customer cannot cancel it
        stranger = deployment.ordering.client(deployment.customer()["token"])
        assert (await stranger.post(f"/api/v1/orders/{order_id}/cancel")).status_code == 404

        cancelled = await sales.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        # cancelling twice changes nothing
        again = await sales.post(f"/api/v1/orders/{order_id}/cancel")
        assert again.status_code == 200
        moves = [h for h in again.json()["history"] if "event" not in h["details"]]  # not notes
        assert [h["status"] for h in moves].count("cancelled") == 1

        await heard(wire, order_id, "order.cancelled", "refund.created", "inventory.released")
        pay = deployment.payments.client(customer["token"])
        [payment] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
        assert payment["status"] == "refunded"
        assert [r["amount"] for r in payment["refunds"]] == ["99.98"]

        async def refund_noted() -> bool:
            order = (await sales.get(f"/api/v1/orders/{order_id}")).json()
            return any(h["details"].get("event") == "refund.created" for h in order["history"])

        await eventually(refund_noted)

        async def stock_back() -> bool:
            return await atp(deployment, product) == 5

        await eventually(stock_back)
        await eventually(lambda: shipment_status(deployment, order_id, "CANCELLED"))
        assert (await wire.types(order_id)).count("refund.created") == 1


async def test_a_double_click_makes_one_order(embedded_deployment: Deployment) -> None:
    deployment = embedded_deployment
    customer = deployment.customer()
    sales = deployment.ordering.client(customer["token"])
    product = await create_product(deployment, unique("B2C"), 5)
    await place(sales, b2c(product, 1))  # ordering knows the product from here on
    key = unique("click")
    first, second = await asyncio.gather(
        sales.post("/api/v1/orders", json=b2c(product, 1), headers={"Idempotency-Key": key}),
        sales.post("/api/v1/orders", json=b2c(product, 1), headers={"Idempotency-Key": key}),
    )
    assert {first.status_code, second.status_code} == {201, 200}
    assert first.json()["order_id"] == second.json()["order_id"]
    assert len((await sales.get("/api/v1/orders")).json()) == 2
    # the same key with another body is refused
    other = await sales.post(
        "/api/v1/orders", json=b2c(product, 2), headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_bad_checkouts_are_refused_and_leave_nothing_behind(
    embedded_deployment: Deployment,
) -> None:
    deployment = embedded_deployment
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        sales = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("B2C"), 5)
        first = (await place(sales, b2c(product, 1))).json()["order_id"]
        await heard(wire, first, "order.created")
        before = len(await wire.everything())

        def with_items(*items: dict[str, Any]) -> dict[str, Any]:
            return {**b2c(product, 1), "items": list(items)}

        refusals: list[tuple[dict[str, Any], int, str]] = [
            (with_items({"product_id": product, "quantity": 0}), 422, "validation_failed"),
            (with_items({"product_id": product, "quantity": -3}), 422, "validation_failed"),
            (with_items({"product_id": product, "quantity": "2"}), 422, "validation_failed"),
            (with_items({"product_id": product, "quantity": 10**9}), 422, "validation_failed"),
            (with_items({"product_id": "no-such-product", "quantity": 1}), 422, "unknown_product"),
            (
                with_items(
                    {"product_id": product, "quantity": 1}, {"product_id": product, "quantity": 2}
                ),
                422,
                "duplicate_product",
            ),
            ({**b2c(product, 1), "payment_method": "4111111111111111"}, 422, "validation_failed"),
            ({**b2c(product, 1), "payment_method": None}, 422, "payment_method_required"),
            ({**b2c(product, 1), "channel": "b2b"}, 403, "channel_not_allowed"),
            ({**b2c(product, 1), "channel": "teleport"}, 422, "validation_failed"),
        ]
        for body, status, code in refusals:
            refused = await sales.post("/api/v1/orders", json=body)
            assert (refused.status_code, refused.json()["code"]) == (status, code), body
            assert "4111111111111111" not in refused.text
        assert len((await sales.get("/api/v1/orders")).json()) == 1
        assert await atp(deployment, product) == 4
        # nothing was published for any of them (the one order's own events aside)
        later = [
            e["event_type"]
            for e in (await wire.everything())[before:]
            if e["event_type"] in {"order.created", "order.cancelled"}
        ]
        assert later == []
