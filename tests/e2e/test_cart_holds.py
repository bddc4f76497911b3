"""Cart holds under abuse: a customer holds at most its limit of a product, renewing a hold
never keeps it past its maximum age, and operators see (and can end) who holds what."""

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import Backend
from tests.e2e.conftest import BACKENDS, Deployment, deploy, shared_deployment
from tests.e2e.test_accounts import enrolled, new_account
from tests.e2e.test_cart import add, atp_is
from tests.e2e.test_checkout_b2c import atp, place
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.wire import tapped
from tests.services import unique
from tests.waiting import eventually

CONSUMER_LIMIT = 5
INDEPENDENT_LIMIT = 8
LIMITS = {
    "ORDERLY_SOFT_HOLD_LIMIT": str(CONSUMER_LIMIT),
    "ORDERLY_SOFT_HOLD_LIMITS": f"independent:{INDEPENDENT_LIMIT},chain:40",
}


@pytest.fixture(scope="module", params=BACKENDS)
def holding(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Consumers hold up to 5 units of a product, independent pharmacies up to 8."""
    tmp = tmp_path_factory.mktemp("holds")
    with shared_deployment(request.param, tmp, **LIMITS) as deployment:
        yield deployment


async def held(cart: httpx.AsyncClient, product_id: str, units: int) -> dict[str, Any]:
    """The cart, once its line of `product_id` holds `units`."""

    async def reached() -> dict[str, Any] | None:
        view: dict[str, Any] = (await cart.get("/api/v1/cart")).json()
        line = next(i for i in view["items"] if i["product_id"] == product_id)
        return view if line["held"] == units else None

    return await eventually(reached)


async def test_one_customer_cannot_take_more_than_its_limit(holding: Deployment) -> None:
    deployment = holding
    hoarder = deployment.ordering.client(deployment.customer()["token"])
    product = await create_product(deployment, unique("HOARD"), 12)

    # the hoarder carts the whole stock: the line says at once that 5 will be held
    added = await add(hoarder, product, 12)
    assert added.status_code == 201, added.text
    assert added.json()["items"][0]["hold"] == CONSUMER_LIMIT
    await atp_is(deployment, product, 12 - CONSUMER_LIMIT)
    # more than exists is refused at once, with what can be had (its hold counts as its own)
    changed = await hoarder.put(f"/api/v1/cart/items/{product}", json={"quantity": 1000})
    assert changed.status_code == 409, changed.text
    assert changed.json()["code"] == "insufficient_stock"
    assert changed.json()["items"] == [{"product_id": product, "requested": 1000, "available": 12}]
    view = await held(hoarder, product, CONSUMER_LIMIT)
    assert view["items"][0]["quantity"] == 12
    assert view["items"][0]["available"] == 12 - CONSUMER_LIMIT
    assert view["items"][0]["hold"] == CONSUMER_LIMIT
    assert await atp(deployment, product) == 12 - CONSUMER_LIMIT
    # the line says when its hold runs out: when inventory's hold does
    operator = deployment.inventory.client(deployment.operator_token)
    [hold] = (await operator.get(f"/api/v1/inventory/{product}/holds")).json()
    until = datetime.fromisoformat(view["items"][0]["held_until"])
    assert until == datetime.fromisoformat(hold["expires_at"])
    assert datetime.now(UTC) < until <= datetime.now(UTC) + timedelta(minutes=15)

    # another customer still buys what is left
    buyer = deployment.ordering.client(deployment.customer()["token"])
    order = {
        "items": [{"product_id": product, "quantity": 12 - CONSUMER_LIMIT}],
        "shipping_address": ADDRESS,
    }
    placed = await place(buyer, order)
    assert placed.status_code == 201, placed.text
    await atp_is(deployment, product, 0)


async def test_the_operator_sees_who_holds_what_and_lets_a_hold_go(holding: Deployment) -> None:
    deployment = holding
    product = await create_product(deployment, unique("HELD"), 30)
    alice = deployment.customer()
    consumer = deployment.ordering.client(alice["token"])
    account_id, admin_email = new_account(deployment.identity)
    token = enrolled(deployment.identity, admin_email)[0]["token"]
    pharmacist = deployment.ordering.client(token)
    admin_id = jwt.decode(token, options={"verify_signature": False})["sub"]

    await add(consumer, product, 3)
    await add(pharmacist, product, 20)  # an independent pharmacy holds up to 8
    consumer_cart = (await held(consumer, product, 3))["cart_id"]
    pharmacy_cart = (await held(pharmacist, product, INDEPENDENT_LIMIT))["cart_id"]
    await atp_is(deployment, product, 30 - 3 - INDEPENDENT_LIMIT)

    operator = deployment.inventory.client(deployment.operator_token)
    listed = await operator.get(f"/api/v1/inventory/{product}/holds")
    assert listed.status_code == 200, listed.text
    holds = listed.json()
    assert [
        {k: h[k] for k in ("cart_id", "customer_id", "account_id", "dc", "quantity")} for h in holds
    ] == [
        {
            "cart_id": pharmacy_cart,
            "customer_id": admin_id,
            "account_id": account_id,
            "dc": "MAIN",
            "quantity": INDEPENDENT_LIMIT,
        },
        {
            "cart_id": consumer_cart,
            "customer_id": alice["userId"],
            "account_id": None,
            "dc": "MAIN",
            "quantity": 3,
        },
    ]
    for hold in holds:
        first, until = (datetime.fromisoformat(hold[k]) for k in ("first_held_at", "expires_at"))
        assert timedelta(0) < until - first <= timedelta(seconds=900)

    printed = deployment.inventory.cli("holds", "list", product)
    assert printed.returncode == 0, printed.stderr
    assert [line.split("\t")[:5] for line in printed.stdout.splitlines()[1:]] == [
        [pharmacy_cart, admin_id, account_id, "MAIN", str(INDEPENDENT_LIMIT)],
        [consumer_cart, alice["userId"], "-", "MAIN", "3"],
    ]

    # customers are told the holds are for operators, and another cart's does not exist
    as_alice = deployment.inventory.client(alice["token"])
    listing = await as_alice.get(f"/api/v1/inventory/{product}/holds")
    assert (listing.status_code, listing.json()["code"]) == (403, "operator_only")
    hidden = await as_alice.delete(f"/api/v1/inventory/{product}/holds/{pharmacy_cart}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "hold_not_found")
    own = await as_alice.delete(f"/api/v1/inventory/{product}/holds/{consumer_cart}")
    assert (own.status_code, own.json()["code"]) == (403, "operator_only")
    peek = await deployment.inventory.client(alice["token"]).post(
        "/api/v1/products/check-availability",
        json={"items": [{"product_id": product, "quantity": 1}], "cart_id": pharmacy_cart},
    )
    assert peek.json()["items"][0]["held"] == 0

    # the operator lets the pharmacy's hold go: its units are available again, once
    released = await operator.delete(f"/api/v1/inventory/{product}/holds/{pharmacy_cart}")
    assert released.status_code == 204, released.text
    await atp_is(deployment, product, 30 - 3)
    await held(pharmacist, product, 0)
    again = await operator.delete(f"/api/v1/inventory/{product}/holds/{pharmacy_cart}")
    assert again.status_code == 404
    assert again.json()["code"] == "hold_not_found"
    remaining = (await operator.get(f"/api/v1/inventory/{product}/holds")).json()
    assert [h["cart_id"] for h in remaining] == [consumer_cart]
    unknown = await operator.get(f"/api/v1/inventory/{uuid.uuid4()}/holds")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "product_not_found"


TTL = 2
MAX_AGE = 5


async def test_renewing_a_hold_never_keeps_it_past_its_maximum_age(
    backend: Backend, tmp_path: Path
) -> None:
    deployment = deploy(
        backend,
        tmp_path,
        ORDERLY_SOFT_RESERVATION_TTL=str(TTL),
        ORDERLY_SOFT_HOLD_MAX_AGE=str(MAX_AGE),
        ORDERLY_SWEEP_INTERVAL="0.5",
    )
    try:
        await renewals_stop_at_the_maximum_age(deployment)
    finally:
        for server in deployment.servers:
            server.stop()


async def renewals_stop_at_the_maximum_age(deployment: Deployment) -> None:
    async with tapped(deployment.backend) as wire:
        cart = deployment.ordering.client(deployment.customer()["token"])
        operator = deployment.inventory.client(deployment.operator_token)
        product, *markers = [await create_product(deployment, unique("AGE"), 10) for _ in "abc"]
        await add(cart, product, 3)
        cart_id = (await held(cart, product, 3))["cart_id"]
        holds = f"/api/v1/inventory/{product}/holds"

        # the customer re-sets the line twice a second: each time the hold is renewed for the
        # TTL, but from the same first moment and never past its maximum age; then it is gone,
        # however often the line is re-set
        renewed: dict[str, Any] = {"at": time.monotonic(), "quantity": 3, "first": None}

        async def lapsed() -> bool:
            if time.monotonic() - renewed["at"] > 0.5:
                renewed["quantity"] = 7 - renewed["quantity"]  # 3, 4, 3, ...
                line = {"quantity": renewed["quantity"]}
                assert (await cart.put(f"/api/v1/cart/items/{product}", json=line)).is_success
                renewed["at"] = time.monotonic()
            for hold in (await operator.get(holds)).json():
                first = datetime.fromisoformat(hold["first_held_at"])
                renewed["first"] = renewed["first"] or first
                assert first == renewed["first"]
                until = datetime.fromisoformat(hold["expires_at"])
                assert until - first <= timedelta(seconds=MAX_AGE)
            if renewed["first"] is None:
                return False
            aged = datetime.now(UTC) >= renewed["first"] + timedelta(seconds=MAX_AGE)
            return aged and await atp(deployment, product) == 10

        await eventually(lapsed, within=MAX_AGE + 15)

        # re-setting it once more holds nothing (the marker line, added after, shows the
        # change was handled); nor does removing the line and adding it again
        assert (await cart.put(f"/api/v1/cart/items/{product}", json={"quantity": 2})).is_success
        await add(cart, markers[0], 1)
        assert line_of(await held(cart, markers[0], 1), product)["held"] == 0
        assert (await cart.delete(f"/api/v1/cart/items/{product}")).is_success
        await add(cart, product, 2)
        await add(cart, markers[1], 1)
        assert line_of(await held(cart, markers[1], 1), product)["held"] == 0
        assert await atp(deployment, product) == 10
        assert (await operator.get(holds)).json() == []

        # the sweeper recorded the hold as expired
        async def expired() -> list[dict[str, Any]]:
            return [
                e["data"]
                for e in await wire.everything()
                if e["event_type"] == "inventory.released"
                and e["data"]["reference"] == cart_id
                and e["data"]["reason"] == "expired"
                and e["data"]["items"][0]["productId"] == product
            ]

        assert await eventually(expired)


def line_of(view: dict[str, Any], product_id: str) -> dict[str, Any]:
    line: dict[str, Any] = next(i for i in view["items"] if i["product_id"] == product_id)
    return line
