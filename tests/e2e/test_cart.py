"""Carts (seed 000) over HTTP: lines hold stock softly, checkout turns the holds into the
order's reservation, and a cart is its owner's alone."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_checkout_b2c import atp, heard, settled
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
    with shared_deployment(request.param, tmp_path_factory.mktemp("cart")) as running:
        yield running


@pytest.fixture(scope="module")
def embedded_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with shared_deployment("embedded", tmp_path_factory.mktemp("cart-one")) as running:
        yield running


async def add(cart: httpx.AsyncClient, product_id: str, quantity: int) -> httpx.Response:
    """Add to the cart once ordering has heard of the product."""

    async def attempt() -> httpx.Response | None:
        body = {"product_id": product_id, "quantity": quantity}
        response = await cart.post("/api/v1/cart/items", json=body)
        if response.status_code == 422 and response.json()["code"] == "unknown_product":
            return None
        return response

    return await eventually(attempt)


async def atp_is(deployed: Deployment, product_id: str, units: int) -> None:
    async def reached() -> bool:
        return await atp(deployed, product_id) == units

    await eventually(reached)


CHECKOUT: dict[str, Any] = {
    "shipping_address": ADDRESS,
    "payment_method": "tok_visa",
    "channel": "b2c",
}


async def test_cart_lines_hold_stock_and_checkout_converts_the_holds(
    deployment: Deployment,
) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        cart = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("CART"), 10)

        added = await add(cart, product, 2)
        assert added.status_code == 201, added.text
        view = added.json()
        cart_id = view["cart_id"]
        assert view["items"] == [
            {
                "product_id": product,
                "name": view["items"][0]["name"],
                "sku": view["items"][0]["sku"],
                "quantity": 2,
                "unit_price": "49.99",
                "line_total": "99.98",
                "held": view["items"][0]["held"],  # inventory holds as the message arrives
                "available": view["items"][0]["available"],
            }
        ]
        assert view["total"] == "99.98"
        await atp_is(deployment, product, 8)  # the cart holds 2

        # adding again adds to the line; changing it sets the hold
        assert (await add(cart, product, 3)).json()["items"][0]["quantity"] == 5
        await atp_is(deployment, product, 5)
        changed = await cart.put(f"/api/v1/cart/items/{product}", json={"quantity": 4})
        assert changed.json()["items"][0]["quantity"] == 4
        await atp_is(deployment, product, 6)

        async def last_line_event() -> dict[str, Any] | None:
            added = [
                e["data"]
                for e in await wire.everything()
                if e["event_type"] == "cart.item.added" and e["data"]["cartId"] == cart_id
            ]
            return added[-1] if len(added) == 3 else None

        assert await eventually(last_line_event) == {
            "cartId": cart_id,
            "productId": product,
            "quantity": 4,
            "hold": 4,
            "customerId": customer["userId"],
        }

        # checkout: the order takes the cart's 4 units, not 4 more
        key = unique("checkout")
        placed = await cart.post(
            "/api/v1/cart/checkout", json=CHECKOUT, headers={"Idempotency-Key": key}
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        assert placed.json()["total_amount"] == "199.96"
        await settled(cart, order_id, "processing")
        await heard(wire, order_id, "inventory.reserved", "payment.completed")
        await atp_is(deployment, product, 6)

        # the cart is spent: the same request replays, another checkout finds it empty
        again = await cart.post(
            "/api/v1/cart/checkout", json=CHECKOUT, headers={"Idempotency-Key": key}
        )
        assert again.status_code == 200
        assert again.json()["order_id"] == order_id
        empty = await cart.post("/api/v1/cart/checkout", json=CHECKOUT)
        assert empty.status_code == 422
        assert empty.json()["code"] == "cart_empty"
        assert (await cart.get("/api/v1/cart")).json()["items"] == []


async def test_removing_a_line_lets_its_hold_go(embedded_deployment: Deployment) -> None:
    deployment = embedded_deployment
    cart = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("CART"), 10)
    await add(cart, product, 3)
    await atp_is(deployment, product, 7)
    removed = await cart.delete(f"/api/v1/cart/items/{product}")
    assert removed.status_code == 200
    assert removed.json()["items"] == []
    await atp_is(deployment, product, 10)


async def test_a_cart_is_its_owners_and_bad_lines_are_refused(deployment: Deployment) -> None:
    alice = deployment.ordering.client(deployment.customer()["token"])
    bob = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("CART"), 10)
    await add(alice, product, 2)

    # bob sees an empty cart of his own, and cannot check alice's out
    assert (await bob.get("/api/v1/cart")).json()["items"] == []
    refused = await bob.post("/api/v1/cart/checkout", json=CHECKOUT)
    assert refused.status_code == 422
    assert refused.json()["code"] == "cart_empty"
    missing = await bob.put(f"/api/v1/cart/items/{product}", json={"quantity": 1})
    assert missing.status_code == 404
    assert missing.json()["code"] == "cart_item_not_found"

    for quantity in (0, -1, "2", 10**12, 2.5, None):
        bad = await alice.post(
            "/api/v1/cart/items", json={"product_id": product, "quantity": quantity}
        )
        assert bad.status_code == 422, quantity
    unknown = await alice.post("/api/v1/cart/items", json={"product_id": "nope", "quantity": 1})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_product"
    assert (await alice.get("/api/v1/cart")).json()["items"][0]["quantity"] == 2

    # two checkouts of one cart at once make one order
    first, second = await asyncio.gather(
        alice.post("/api/v1/cart/checkout", json=CHECKOUT),
        alice.post("/api/v1/cart/checkout", json=CHECKOUT),
    )
    assert sorted([first.status_code, second.status_code]) in ([201, 409], [201, 422])
    assert len((await alice.get("/api/v1/orders")).json()) == 1
