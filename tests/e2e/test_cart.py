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
                # until when, once it does (none before)
                "held_until": view["items"][0]["held_until"],
                "available": view["items"][0]["available"],
                "hold": 2,  # what it holds once it has
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


async def lines_back(cart: httpx.AsyncClient, *lines: tuple[str, int]) -> dict[str, Any]:
    """The cart, once it has exactly `lines` again."""

    async def back() -> dict[str, Any] | None:
        view: dict[str, Any] = (await cart.get("/api/v1/cart")).json()
        return (
            view if [(i["product_id"], i["quantity"]) for i in view["items"]] == [*lines] else None
        )

    return await eventually(back)


@pytest.mark.parametrize(
    ("channel", "ended"),
    [
        pytest.param("b2c", "cancelled", id="b2c"),
        pytest.param("guarded", "PAYMENT_FAILED", id="guarded"),
    ],
)
async def test_a_cart_whose_order_fails_payment_comes_back_until_paid(
    deployment: Deployment, channel: str, ended: str
) -> None:
    cart = deployment.ordering.client(deployment.customer()["token"])
    product, other = [await create_product(deployment, unique("BACK"), 10) for _ in "ab"]
    await add(cart, product, 3)
    await add(cart, other, 1)
    spent = (await cart.get("/api/v1/cart")).json()["cart_id"]

    declined = {**CHECKOUT, "channel": channel, "payment_method": "tok_decline"}
    answer = await cart.post("/api/v1/cart/checkout", json=declined)
    # b2c answers before the payment is tried; guarded waits, and says the order failed
    assert answer.status_code == (201 if channel == "b2c" else 402), answer.text
    (placed,) = (await cart.get("/api/v1/orders")).json()
    await settled(cart, placed["order_id"], ended)

    # the lines are back, in an open cart, and hold their units again
    view = await lines_back(cart, (product, 3), (other, 1))
    assert view["cart_id"] != spent
    await atp_is(deployment, product, 7)
    await atp_is(deployment, other, 9)

    # paid, the cart is spent for good
    paid = await cart.post("/api/v1/cart/checkout", json={**CHECKOUT, "channel": channel})
    assert paid.status_code == 201, paid.text
    await settled(cart, paid.json()["order_id"], "processing" if channel == "b2c" else "PLACED")
    assert (await cart.get("/api/v1/cart")).json()["items"] == []
    await atp_is(deployment, product, 7)


async def test_a_cart_whose_order_finds_too_little_stock_comes_back(
    deployment: Deployment,
) -> None:
    # a customer carts 25 units; 20 are held (the default hold limit) and another customer
    # buys the 5 that were not
    cart = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("SHORT"), 25)
    await add(cart, product, 25)
    await atp_is(deployment, product, 5)
    other = deployment.ordering.client(deployment.customer()["token"])
    bought = await other.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product, "quantity": 5}], "shipping_address": ADDRESS},
    )
    assert bought.status_code == 201, bought.text

    assert (await cart.post("/api/v1/cart/checkout", json=CHECKOUT)).status_code == 201
    (placed,) = (await cart.get("/api/v1/orders")).json()
    await settled(cart, placed["order_id"], "cancelled")
    await lines_back(cart, (product, 25))

    # inventory hears of the lines' return after ordering has them back: the spent cart's
    # holds go and the returned line holds anew, in messages of their own
    async def all_twenty_its_own() -> bool:
        line = (await lines_back(cart, (product, 25)))["items"][0]
        return bool(line["available"] + line["held"] == 20)

    await eventually(all_twenty_its_own)


async def test_a_line_is_told_at_once_what_it_can_have(deployment: Deployment) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        cart = deployment.ordering.client(customer["token"])
        product = await create_product(deployment, unique("ATONCE"), 50)

        # more than exists: refused at once with what can be had; nothing is written
        greedy = await add(cart, product, 100_000)
        assert greedy.status_code == 409, greedy.text
        assert greedy.json()["code"] == "insufficient_stock"
        assert greedy.json()["items"] == [
            {"product_id": product, "requested": 100_000, "available": 50}
        ]
        assert (await cart.get("/api/v1/cart")).json()["items"] == []

        # within stock: the answer says what is available and how much will be held (20)
        added = await add(cart, product, 30)
        assert added.status_code == 201, added.text
        (line,) = added.json()["items"]
        assert (line["quantity"], line["hold"]) == (30, 20)
        assert line["available"] + line["held"] == 50
        await atp_is(deployment, product, 30)

        # its own hold counts as its own: 50 in all may be had, not 51
        more = await add(cart, product, 21)
        assert more.status_code == 409
        assert more.json()["items"][0]["available"] == 50
        assert (await add(cart, product, 20)).json()["items"][0]["quantity"] == 50
        raised = await cart.put(f"/api/v1/cart/items/{product}", json={"quantity": 51})
        assert raised.status_code == 409
        lowered = await cart.put(f"/api/v1/cart/items/{product}", json={"quantity": 10})
        assert lowered.status_code == 200
        assert lowered.json()["items"][0]["hold"] == 10
        await atp_is(deployment, product, 40)

        async def announced() -> list[int] | None:
            quantities = [
                e["data"]["quantity"]
                for e in await wire.everything()
                if e["event_type"] == "cart.item.added" and e["data"]["productId"] == product
            ]
            return quantities if quantities[-1:] == [10] else None

        assert await eventually(announced) == [30, 50, 10]


async def test_a_cart_coming_back_joins_the_newer_one(embedded_deployment: Deployment) -> None:
    # given a process that publishes nothing, the b2c order stays pending while the
    # customer starts another cart
    server = embedded_deployment.ordering
    server.stop()
    server.start(relay=False).wait_ready()
    try:
        cart = server.client(embedded_deployment.customer()["token"])
        first, both = [await create_product(embedded_deployment, unique("NEW"), 10) for _ in "ab"]
        await add(cart, first, 2)
        await add(cart, both, 1)
        placed = await cart.post("/api/v1/cart/checkout", json=CHECKOUT)
        assert placed.status_code == 201, placed.text
        assert (await add(cart, both, 5)).status_code == 201

        # when the customer cancels the unpaid order, its lines join the newer cart, whose
        # own line of a product in both stays as it is
        cancelled = await cart.post(f"/api/v1/orders/{placed.json()['order_id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        await lines_back(cart, (both, 5), (first, 2))
    finally:
        server.stop()
        server.start().wait_ready()
