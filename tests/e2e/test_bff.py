"""Seed 002's BFFs over HTTP with the seed's field names: BFF-web's checkout, registration,
product creation and order details, BFF-mobile's checkout with saved choices; in one
process, and as BFF processes of their own calling each context's service over HTTP."""

import asyncio
import os
import random
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from orderly.config import BFF_CONTEXTS
from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.server import Server, free_port
from tests.e2e.test_checkout_b2c import settled
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import unique
from tests.waiting import eventually

ITEMS_PRICE = "49.99"  # create_product's


def context_urls(deployed: Deployment) -> dict[str, str]:
    """The settings a BFF of its own needs to find each context it calls."""
    return {
        "ORDERLY_IDENTITY_URL": deployed.identity.url,
        "ORDERLY_CATALOG_URL": deployed.catalog.url,
        "ORDERLY_PRICING_URL": deployed.pricing.url,
        "ORDERLY_INVENTORY_URL": deployed.inventory.url,
        "ORDERLY_ORDERING_URL": deployed.ordering.url,
        "ORDERLY_PAYMENTS_URL": deployed.payments.url,
        "ORDERLY_FULFILLMENT_URL": deployed.fulfillment.url,
    }


def bff_server(deployed: Deployment, log_dir: Path, name: str, **env: str) -> Server:
    """`orderly serve --contexts <name>` beside a distributed deployment, started."""
    settings = {**deployed.identity.env, **context_urls(deployed), **env}
    return Server(settings, log_dir, contexts=name).start().wait_ready()


@dataclass
class World:
    deployed: Deployment
    web: Server
    mobile: Server
    mobile_checkout: str  # its path


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("bff")
    # each context's requests logged, to count what the BFF asked of it
    with shared_deployment(request.param, tmp, ORDERLY_ACCESS_LOG="true") as deployed:
        if request.param == "embedded":
            yield World(deployed, deployed.ordering, deployed.ordering, "/mobile/api/v1/checkout")
            return
        web = bff_server(deployed, tmp, "bff-web")
        mobile = bff_server(deployed, tmp, "bff-mobile")
        try:
            yield World(deployed, web, mobile, "/api/v1/checkout")
        finally:
            web.stop()
            mobile.stop()


async def product(world: World, stock: int = 50) -> str:
    return await create_product(world.deployed, unique("BFF"), stock)


def web_checkout(user_id: str, product_id: str, quantity: int = 2) -> dict[str, Any]:
    return {
        "userId": user_id,
        "items": [{"productId": product_id, "quantity": quantity}],
        "shippingAddress": ADDRESS,
        "paymentMethod": "tok_visa",
    }


async def checkout(client: httpx.AsyncClient, body: dict[str, Any], path: str) -> httpx.Response:
    """POST a checkout once ordering has heard of its products."""

    async def attempt() -> httpx.Response | None:
        response = await client.post(path, json=body)
        if response.status_code == 422 and response.json().get("code") == "unknown_product":
            return None
        return response

    return await eventually(attempt)


async def orders_of(world: World, token: str) -> list[dict[str, Any]]:
    async with world.deployed.ordering.client(token) as client:
        found: list[dict[str, Any]] = (await client.get("/api/v1/orders")).json()
        return found


async def test_web_checkout_places_the_order_and_answers_id_status_and_total(world: World) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    async with world.web.client(customer["token"]) as web:
        answer = await checkout(
            web, web_checkout(customer["userId"], product_id), "/api/v1/checkout"
        )
    assert answer.status_code == 201, answer.text
    placed = answer.json()
    assert set(placed) == {"orderId", "status", "totalAmount"}
    assert placed["status"] == "pending"
    assert placed["totalAmount"] == "99.98"  # seed 002's total of two at 49.99
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        order = await settled(ordering, placed["orderId"], "processing")
    assert order["channel"] == "b2c"
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(product_id, 2)]


async def test_a_checkout_in_another_users_name_is_refused_and_places_nothing(
    world: World,
) -> None:
    caller, other = world.deployed.customer(), world.deployed.customer()
    product_id = await product(world)
    async with world.web.client(caller["token"]) as web:
        answer = await web.post("/api/v1/checkout", json=web_checkout(other["userId"], product_id))
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_the_caller"
    async with world.mobile.client(caller["token"]) as mobile:
        body = {
            "userId": other["userId"],
            "items": [{"productId": product_id, "quantity": 1}],
            "addressId": "anything",
            "paymentMethodId": "anything",
        }
        refused = await mobile.post(world.mobile_checkout, json=body)
    assert refused.status_code == 403
    assert await orders_of(world, caller["token"]) == []
    assert await orders_of(world, other["token"]) == []


async def test_an_operator_checks_out_for_a_customer_in_the_customers_name(world: World) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    operator = world.deployed.operator_token
    async with world.deployed.identity.client(operator) as identity:
        operator_id = (await identity.get("/api/v1/auth/session")).json()["userId"]
    async with world.web.client(operator) as web:
        body = web_checkout(customer["userId"], product_id)
        answer = await checkout(web, body, "/api/v1/checkout")
        assert answer.status_code == 201, answer.text
        unknown = await web.post("/api/v1/checkout", json=web_checkout("no-such-user", product_id))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user_not_found")
    order_id = answer.json()["orderId"]
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        order = await settled(ordering, order_id, "processing")  # the customer's own order
        assert order["user_id"] == customer["userId"]
        assert order["history"][0]["details"] == {"placed_by": operator_id}
        # a customer cannot place one for another
        other = world.deployed.customer()
        refused = await ordering.post(
            "/api/v1/orders",
            json={
                "items": [{"product_id": product_id, "quantity": 1}],
                "shipping_address": ADDRESS,
                "channel": "direct",
                "on_behalf_of": other["userId"],
            },
        )
    assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")
    assert await orders_of(world, other["token"]) == []


async def test_order_details_gather_the_order_its_user_products_and_payments(world: World) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    async with world.web.client(customer["token"]) as web:
        placed = (
            await checkout(web, web_checkout(customer["userId"], product_id), "/api/v1/checkout")
        ).json()
        async with world.deployed.ordering.client(customer["token"]) as ordering:
            await settled(ordering, placed["orderId"], "processing")
        answer = await web.get(f"/api/v1/orders/{placed['orderId']}/details")
    assert answer.status_code == 200, answer.text
    details = answer.json()
    assert set(details) == {"order", "user", "products", "payments", "unavailable"}
    assert details["unavailable"] == []
    assert details["order"]["order_id"] == placed["orderId"]
    assert details["user"]["userId"] == customer["userId"]
    assert [p["id"] for p in details["products"]] == [product_id]
    assert details["products"][0]["price"] == ITEMS_PRICE
    assert [(p["order_id"], p["status"]) for p in details["payments"]] == [
        (placed["orderId"], "captured")
    ]
    # an operator sees the order's own user, not itself
    async with world.web.client(world.deployed.operator_token) as web:
        seen = (await web.get(f"/api/v1/orders/{placed['orderId']}/details")).json()
    assert seen["user"]["userId"] == customer["userId"]
    assert seen["order"]["user_id"] == customer["userId"]


async def test_another_customers_order_has_no_details(world: World) -> None:
    owner, stranger = world.deployed.customer(), world.deployed.customer()
    product_id = await product(world)
    async with world.web.client(owner["token"]) as web:
        placed = (
            await checkout(web, web_checkout(owner["userId"], product_id), "/api/v1/checkout")
        ).json()
    async with world.web.client(stranger["token"]) as web:
        answer = await web.get(f"/api/v1/orders/{placed['orderId']}/details")
    assert answer.status_code == 404
    assert answer.json()["code"] == "order_not_found"


async def test_mobile_checkout_uses_the_saved_address_and_payment_method(world: World) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    token = customer["token"]
    saved_address = {**ADDRESS, "label": "home", "name": "Casey Buyer"}
    async with world.deployed.identity.client(token) as identity:
        made = await identity.post(
            f"/api/v1/users/{customer['userId']}/addresses", json=saved_address
        )
        assert made.status_code == 201, made.text
        address_id = made.json()["addressId"]
    async with world.deployed.payments.client(token) as payments:
        method = await payments.post("/api/v1/payment-methods", json={"token": "tok_visa"})
        assert method.status_code == 201, method.text
        method_id = method.json()["id"]
    body = {
        "userId": customer["userId"],
        "items": [{"productId": product_id, "quantity": 1}],
        "addressId": address_id,
        "paymentMethodId": method_id,
    }
    async with world.mobile.client(token) as mobile:
        answer = await checkout(mobile, body, world.mobile_checkout)
    assert answer.status_code == 201, answer.text
    placed = answer.json()
    assert set(placed) == {"orderId", "status", "totalAmount"}
    assert placed["totalAmount"] == ITEMS_PRICE
    async with world.deployed.ordering.client(token) as ordering:
        order = await settled(ordering, placed["orderId"], "processing")
    assert order["shipping_address"]["line1"] == ADDRESS["line1"]
    assert order["shipping_address"]["name"] == "Casey Buyer"


async def test_an_operators_mobile_checkout_pays_only_with_the_users_own_method(
    world: World,
) -> None:
    customer, other = world.deployed.customer(), world.deployed.customer()
    product_id = await product(world)
    async with world.deployed.identity.client(customer["token"]) as identity:
        made = await identity.post(f"/api/v1/users/{customer['userId']}/addresses", json=ADDRESS)
        address_id = made.json()["addressId"]
    methods = {}
    for who in (customer, other):
        async with world.deployed.payments.client(who["token"]) as payments:
            saved = await payments.post("/api/v1/payment-methods", json={"token": "tok_visa"})
            methods[who["userId"]] = saved.json()["id"]
    body = {
        "userId": customer["userId"],
        "items": [{"productId": product_id, "quantity": 1}],
        "addressId": address_id,
    }
    async with world.mobile.client(world.deployed.operator_token) as mobile:
        theirs = {**body, "paymentMethodId": methods[other["userId"]]}
        refused = await mobile.post(world.mobile_checkout, json=theirs)
        assert (refused.status_code, refused.json()["code"]) == (404, "payment_method_not_found")
        assert await orders_of(world, customer["token"]) == []
        own = {**body, "paymentMethodId": methods[customer["userId"]]}
        placed = await checkout(mobile, own, world.mobile_checkout)
    assert placed.status_code == 201, placed.text
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        order = await settled(ordering, placed.json()["orderId"], "processing")
    assert order["user_id"] == customer["userId"]


async def test_mobile_checkout_with_another_users_saved_address_places_nothing(
    world: World,
) -> None:
    owner, caller = world.deployed.customer(), world.deployed.customer()
    product_id = await product(world)
    async with world.deployed.identity.client(owner["token"]) as identity:
        made = await identity.post(f"/api/v1/users/{owner['userId']}/addresses", json=ADDRESS)
        address_id = made.json()["addressId"]
    async with world.deployed.payments.client(caller["token"]) as payments:
        method_id = (
            await payments.post("/api/v1/payment-methods", json={"token": "tok_visa"})
        ).json()["id"]
    body = {
        "userId": caller["userId"],
        "items": [{"productId": product_id, "quantity": 1}],
        "addressId": address_id,
        "paymentMethodId": method_id,
    }
    async with world.mobile.client(caller["token"]) as mobile:
        answer = await mobile.post(world.mobile_checkout, json=body)
    assert answer.status_code == 404
    assert answer.json()["code"] == "address_not_found"
    assert await orders_of(world, caller["token"]) == []


async def test_registration_and_product_creation_through_the_web_bff(world: World) -> None:
    email = f"bff-{unique('u').lower()}@example.com"
    body = {
        "email": email,
        "password": "a long pass phrase",
        "firstName": "Ada",
        "lastName": "Byron",
    }
    async with world.web.client() as web:
        registered = await web.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 202, registered.text
    assert registered.json()["email"] == email
    assert world.deployed.identity.login(email, "a long pass phrase")
    sku = unique("BFF")
    new = {"name": "Gauze", "sku": sku, "price": "3.50", "description": "", "stock": 5}
    async with world.web.client(world.deployed.operator_token) as web:
        created = await web.post("/api/v1/products", json=new)
        assert created.status_code == 201, created.text
        again = await web.post("/api/v1/products", json=new)
    assert created.json()["sku"] == sku
    assert again.status_code == 409  # catalog's refusal, passed on as it was
    async with world.web.client(world.deployed.customer()["token"]) as web:
        refused = await web.post("/api/v1/products", json={**new, "sku": unique("BFF")})
    assert refused.status_code in {403, 404}


# The fan-out, timed: every context a second late


@pytest.fixture(scope="module")
def slow_world(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A BFF whose every call to a context answers a second late; payments' later than the
    BFF waits. Beside the module's distributed deployment, a BFF-web of its own; embedded,
    a process of its own."""
    tmp = tmp_path_factory.mktemp("bff-slow")
    delays = {
        "ORDERLY_FAULT_DELAY": "identity=1,catalog=1,pricing=1,inventory=1,ordering=1,"
        "fulfillment=1,payments=5",
        "ORDERLY_BFF_TIMEOUT": "3",
    }
    if world.deployed.backend.name == "embedded":
        with shared_deployment("embedded", tmp, **delays) as deployed:
            yield World(deployed, deployed.ordering, deployed.ordering, "/mobile/api/v1/checkout")
        return
    web = bff_server(world.deployed, tmp, "bff-web", **delays)
    try:
        yield World(world.deployed, web, web, "")
    finally:
        web.stop()


async def test_details_wait_for_the_slowest_call_not_their_sum_and_answer_without_payments(
    slow_world: World,
) -> None:
    world = slow_world
    customer = world.deployed.customer()
    product_id = await product(world)
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        order_id = (
            await checkout(
                ordering,
                {
                    "items": [{"product_id": product_id, "quantity": 1}],
                    "shipping_address": ADDRESS,
                    "payment_method": "tok_visa",
                    "channel": "b2c",
                },
                "/api/v1/orders",
            )
        ).json()["order_id"]
        await settled(ordering, order_id, "processing")
    async with world.web.client(customer["token"]) as web:
        started = time.monotonic()
        answer = await web.get(f"/api/v1/orders/{order_id}/details")
        took = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    details = answer.json()
    # order, user and payments at once (1 s; payments given up at 3 s), then the products
    # (1 s): 4 s, where one after the other would be 1 + 1 + 3 + 1 = 6 s
    assert 4 <= took < 5.5, took
    assert details["order"]["order_id"] == order_id
    assert details["user"]["userId"] == customer["userId"]
    assert [p["id"] for p in details["products"]] == [product_id]
    assert details["payments"] is None
    assert details["unavailable"] == [
        {"part": "payments", "context": "payments", "reason": "no answer within 3 s"}
    ]


def bff_without_payments(world: World, tmp: Path, **env: str) -> Server:
    """A BFF-web of its own, calling the deployment's contexts over HTTP (in the embedded
    mode, its one process at each context's address), but payments at an address nothing
    answers at."""
    nowhere = {"ORDERLY_PAYMENTS_URL": f"http://127.0.0.1:{free_port()}"}
    return bff_server(world.deployed, tmp, "bff-web", **nowhere, **env)


async def test_details_answer_without_a_context_that_is_down(world: World, tmp_path: Path) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    distributed = world.deployed.backend.name == "distributed"
    # distributed, payments' own process is stopped; embedded, no process serves it alone:
    # a BFF of its own finds nothing at payments' address
    web = world.web if distributed else bff_without_payments(world, tmp_path)
    try:
        async with web.client(customer["token"]) as client:
            placed = await checkout(
                client, web_checkout(customer["userId"], product_id), "/api/v1/checkout"
            )
            order_id = placed.json()["orderId"]
            if distributed:
                world.deployed.payments.stop()
            try:
                answer = await client.get(f"/api/v1/orders/{order_id}/details")
            finally:
                if distributed:
                    world.deployed.payments.start().wait_ready()
    finally:
        if not distributed:
            web.stop()
    assert answer.status_code == 200, answer.text
    details = answer.json()
    assert details["order"]["order_id"] == order_id
    assert details["payments"] is None
    [missing] = details["unavailable"]
    assert (missing["part"], missing["context"]) == ("payments", "payments")
    assert missing["reason"].startswith("unreachable")


async def test_a_context_that_keeps_failing_is_not_called_while_its_breaker_is_open(
    world: World, tmp_path: Path
) -> None:
    web = bff_without_payments(world, tmp_path, ORDERLY_BREAKER_THRESHOLD="2")
    try:
        customer = world.deployed.customer()
        product_id = await product(world)
        async with web.client(customer["token"]) as client:
            placed = await checkout(
                client, web_checkout(customer["userId"], product_id), "/api/v1/checkout"
            )
            order_id = placed.json()["orderId"]
            reasons = []
            for _ in range(3):
                answer = await client.get(f"/api/v1/orders/{order_id}/details")
                assert answer.status_code == 200, answer.text
                assert answer.json()["order"]["order_id"] == order_id
                reasons.append(answer.json()["unavailable"][0]["reason"])
    finally:
        web.stop()
    assert [r.split(" ")[0] for r in reasons[:2]] == ["unreachable", "unreachable"]
    assert reasons[2] == "its breaker is open"


# GraphQL (seed 000 section 1's product page, orders, the cart)

PRODUCT_PAGE = """query($id: ID, $ndc: String) {
  product(id: $id, ndc: $ndc) {
    id name ndc listPrice
    price { amount currency source }
    availability { atp dcs { dc atp } }
  }
}"""


async def graph(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def drug(world: World) -> tuple[str, str]:
    """A product with an NDC of its own (5-3-2): its id and NDC."""
    digits = f"{random.randrange(10**9, 10**10)}"
    ndc = f"{digits[:5]}-{digits[5:8]}-{digits[8:]}"
    body = {"name": "Amoxicillin 500mg", "sku": unique("NDC"), "price": "12.50", "stock": 30}
    async with world.deployed.catalog.client(world.deployed.operator_token) as catalog:
        made = await catalog.post("/api/v1/products", json={**body, "ndc": ndc})
    assert made.status_code == 201, made.text
    return made.json()["id"], ndc


async def test_the_product_page_is_one_query_by_id_or_by_ndc_in_any_form(world: World) -> None:
    product_id, ndc = await drug(world)
    labeler, item, package = ndc.split("-")
    ndc11 = f"{labeler}0{item}{package}"
    async with world.web.client(world.deployed.customer()["token"]) as web:
        by_id = await graph(web, PRODUCT_PAGE, id=product_id)
        assert "errors" not in by_id, by_id
        page = by_id["data"]["product"]
        assert (page["id"], page["ndc"], page["listPrice"]) == (product_id, ndc, "12.50")
        assert page["price"] == {"amount": "12.50", "currency": "USD", "source": "wac"}
        assert page["availability"]["atp"] == 30
        for form in (ndc, ndc11):
            assert (await graph(web, PRODUCT_PAGE, ndc=form))["data"]["product"] == page
        missing = await graph(web, PRODUCT_PAGE, id="no-such-product")
        assert missing["data"]["product"] is None
        # an NDC is an identifier: words are a search (`products`), a quantity is a count
        words = await graph(web, PRODUCT_PAGE, ndc="Amoxicillin")
        assert words["errors"][0]["extensions"]["code"] == "invalid_ndc"
        nothing = await graph(
            web,
            "query($id: ID!) { product(id: $id) { price(quantity: 0) { amount } } }",
            id=product_id,
        )
        assert nothing["errors"][0]["extensions"]["code"] == "invalid_quantity"


async def test_graphql_places_an_order_fills_a_cart_and_reads_orders(world: World) -> None:
    customer = world.deployed.customer()
    product_id = await product(world)
    placing = """mutation($p: ID!, $key: String) {
      placeOrder(input: {items: [{productId: $p, quantity: 2}], channel: "b2c",
        shippingAddress: {line1: "1 Main St", city: "Springfield", postalCode: "12345",
        country: "US"}, paymentMethod: "tok_visa"}, idempotencyKey: $key)
      { orderId status totalAmount }
    }"""
    async with world.web.client(customer["token"]) as web:

        async def placed() -> dict[str, Any] | None:
            answer = await graph(web, placing, p=product_id, key=customer["userId"])
            if answer.get("errors"):
                assert answer["errors"][0]["extensions"]["code"] == "unknown_product", answer
                return None
            found: dict[str, Any] = answer["data"]["placeOrder"]
            return found

        order = await eventually(placed)
        assert (order["status"], order["totalAmount"]) == ("pending", "99.98")
        again = await graph(web, placing, p=product_id, key=customer["userId"])
        assert again["data"]["placeOrder"]["orderId"] == order["orderId"]  # the same key
        read = await graph(
            web,
            "query($id: ID!) { order(id: $id) { id createdAt updatedAt"
            " items { quantity product { id } } history { status at } } }",
            id=order["orderId"],
        )
        shown = read["data"]["order"]
        assert shown["items"] == [{"quantity": 2, "product": {"id": product_id}}]
        # times are ISO 8601, however the context answered them
        assert datetime.fromisoformat(shown["createdAt"]) <= datetime.fromisoformat(
            shown["updatedAt"]
        )
        assert shown["history"][0]["status"] == "pending"
        assert datetime.fromisoformat(shown["history"][0]["at"]).tzinfo is not None
        cart = await graph(
            web,
            "mutation($p: ID!) {"
            " addToCart(productId: $p, quantity: 3) { items { productId quantity } } }",
            p=product_id,
        )
        assert cart["data"]["addToCart"]["items"] == [{"productId": product_id, "quantity": 3}]
        refused = await graph(
            web,
            "mutation($p: ID!) { addToCart(productId: $p, quantity: 0) { total } }",
            p=product_id,
        )
        assert refused["errors"][0]["extensions"]["code"] == "validation_failed"


async def calls_by_context(world: World) -> dict[str, float]:
    async with world.web.client(world.deployed.operator_token) as web:
        text = (await web.get("/metrics")).text
    found = re.findall(r'^orderly_bff_calls_total\{context="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return {context: float(count) for context, count in found}


def requests_at(server: Server, path: str) -> int:
    """The requests for exactly `path` that `server` logged so far."""
    wanted = f'"event":"request","method":"GET","path":"{path}"'
    return sum(wanted in line for line in server.log_path.read_text().splitlines())


async def test_fifty_orders_with_their_products_cost_one_call_per_context(world: World) -> None:
    customer = world.deployed.customer()
    products = [await product(world, stock=100) for _ in range(3)]
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        for n in range(50):
            body = {
                "items": [{"product_id": products[n % 3], "quantity": 1}],
                "shipping_address": ADDRESS,
                "payment_method": "tok_visa",
                "channel": "b2c",
            }
            assert (await checkout(ordering, body, "/api/v1/orders")).status_code == 201

        async def all_paid() -> bool:
            paid = await ordering.get("/api/v1/orders", params={"status": "processing"})
            return len(paid.json()) == 50

        await eventually(all_paid)
    query = """{ orders(limit: 50) {
      id status items { quantity product { id name } }
      payments { status } shipments { status }
    } }"""
    before = await calls_by_context(world)
    asked = {
        path: requests_at(server, path)
        for path, server in (
            ("/api/v1/orders", world.deployed.ordering),
            ("/api/v1/products", world.deployed.catalog),
            ("/api/v1/payments", world.deployed.payments),
            ("/api/v1/shipments", world.deployed.fulfillment),
        )
    }
    async with world.web.client(customer["token"]) as web:
        answer = await graph(web, query)
    after = await calls_by_context(world)
    assert "errors" not in answer, answer
    orders = answer["data"]["orders"]
    assert len(orders) == 50
    assert {o["items"][0]["product"]["id"] for o in orders} == set(products)
    assert all(len(o["payments"]) == 1 and len(o["shipments"]) == 1 for o in orders)
    spent = {c: after.get(c, 0) - before.get(c, 0) for c in after}
    assert {c: n for c, n in spent.items() if n} == {
        "ordering": 1,
        "catalog": 1,
        "payments": 1,
        "fulfillment": 1,
    }
    if world.deployed.backend.name == "distributed":  # and as each context saw it
        served = {
            "/api/v1/orders": world.deployed.ordering,
            "/api/v1/products": world.deployed.catalog,
            "/api/v1/payments": world.deployed.payments,
            "/api/v1/shipments": world.deployed.fulfillment,
        }
        assert {
            path: requests_at(server, path) - asked[path] for path, server in served.items()
        } == {path: 1 for path in served}


async def test_abusive_graphql_is_refused_with_a_code(world: World) -> None:
    async with world.web.client(world.deployed.customer()["token"]) as web:
        aliases = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(20)) + " }"
        costly = """{ orders(limit: 100) { id status items { quantity product {
          name price { amount } availability { atp dcs { dc atp } } } }
          payments { status } shipments { status } } }"""
        # lists without a limit are weighed at their sizes (an order's lines, its payments)
        wide = """{ orders(limit: 100) { id status
          items { quantity unitPrice productId product { name sku } }
          history { status at } payments { status amount } shipments { status dc } } }"""
        refusals = (
            (aliases, "too_many_aliases"),
            (costly, "query_too_costly"),
            (wide, "query_too_costly"),
        )
        for query, code in refusals:
            answer = await graph(web, query)
            assert answer["data"] is None
            assert answer["errors"][0]["extensions"]["code"] == code
        batch = await web.post("/graphql", json=[{"query": "{ me { id } }"}] * 2)
        assert (batch.status_code, batch.json()["code"]) == (400, "batch_not_allowed")
        schema = await graph(web, "{ __schema { types { name } } }")
        assert schema["errors"][0]["extensions"]["code"] == "introspection_disabled"
        page = await graph(web, "{ orders(limit: 500) { id } }")
        assert page["errors"][0]["extensions"]["code"] == "page_too_large"


async def test_the_product_page_asks_its_three_contexts_at_once(slow_world: World) -> None:
    world = slow_world
    product_id, ndc = await drug(world)
    async with world.web.client(world.deployed.customer()["token"]) as web:
        started = time.monotonic()
        page = await graph(web, PRODUCT_PAGE, id=product_id)
        took = time.monotonic() - started
        assert page["data"]["product"]["availability"]["atp"] == 30
        # catalog, pricing and inventory a second late each: one second, not three
        assert 1 <= took < 2, took
        started = time.monotonic()
        await graph(web, PRODUCT_PAGE, ndc=ndc)  # the NDC looked up first (a second)
        await graph(web, PRODUCT_PAGE, ndc=ndc)  # then known
        assert 3 <= time.monotonic() - started < 4.5


async def test_a_bff_served_alone_listens_on_seed_002s_port(tmp_path: Path) -> None:
    """`orderly serve --contexts bff-mobile`, no port named: seed 002's 3011, needing no
    database nor broker of its own (the contexts it calls need not be up to start it)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        **{f"ORDERLY_{name.upper()}_URL": nowhere for name in BFF_CONTEXTS},
        "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}",
    }
    env.pop("ORDERLY_BROKER_URL", None)
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "orderly", "serve", "--contexts", "bff-mobile"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url="http://127.0.0.1:3011") as mobile:

            async def up() -> bool:
                assert process.returncode is None, "the BFF exited"
                try:
                    return (await mobile.get("/health")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(up, within=30)
            refused = await mobile.post("/api/v1/checkout", json={})
        assert (refused.status_code, refused.json()["code"]) == (401, "authentication_required")
    finally:
        process.terminate()
        await process.wait()
    assert not databases_in(tmp_path)  # a BFF keeps no tables


def databases_in(folder: Path) -> list[Path]:
    return list(folder.glob("var/*.db"))


WATCH = """subscription($id: ID!) {
  orderStatus(id: $id) { id status updatedAt history { at } payments { status } }
}"""


async def watched(url: str, token: str | None, order_id: str) -> AsyncIterator[dict[str, Any]]:
    """`orderStatus` over graphql-transport-ws: each message after the acknowledgement."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            url.replace("http", "ws", 1) + "/graphql", protocols=("graphql-transport-ws",)
        ) as socket,
    ):
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await socket.send_json({"type": "connection_init", "payload": payload})
        ack = await socket.receive(timeout=10)
        if ack.type != aiohttp.WSMsgType.TEXT:
            yield {"type": "closed", "code": socket.close_code}
            return
        assert ack.json()["type"] == "connection_ack"
        query = {"query": WATCH, "variables": {"id": order_id}}
        await socket.send_json({"id": "1", "type": "subscribe", "payload": query})
        while True:
            message = await socket.receive(timeout=20)
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            yield message.json()


async def test_an_orders_status_is_pushed_as_it_moves_and_only_to_its_own(world: World) -> None:
    customer, stranger = world.deployed.customer(), world.deployed.customer()
    product_id = await product(world)
    async with world.web.client(customer["token"]) as web:
        body = web_checkout(customer["userId"], product_id)
        order_id = (await checkout(web, body, "/api/v1/checkout")).json()["orderId"]
    async with world.deployed.ordering.client(customer["token"]) as ordering:
        await settled(ordering, order_id, "processing")
        statuses = []
        async for message in watched(world.web.url, customer["token"], order_id):
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            pushed = message["payload"]["data"]["orderStatus"]
            statuses.append((pushed["status"], [p["status"] for p in pushed["payments"]]))
            if len(statuses) == 1:  # the order as it is now; then it moves
                assert (await ordering.post(f"/api/v1/orders/{order_id}/cancel")).status_code == 200
    # each push reads the order's other parts anew: its payment was refunded with its cancel
    assert statuses == [("processing", ["captured"]), ("cancelled", ["refunded"])]

    [refused] = [m async for m in watched(world.web.url, None, order_id)]
    assert refused == {"type": "closed", "code": 4403}
    async for message in watched(world.web.url, stranger["token"], order_id):
        assert message["type"] == "next", message
        assert message["payload"]["errors"][0]["extensions"]["code"] == "order_not_found"
        break
