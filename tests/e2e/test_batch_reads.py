"""Batch reads, for a client that shows many things at once (a backend-for-frontend): products,
stock positions, payments, shipments and orders by id, in one request each, in both modes.
Each answers what the thing's own route answers, in the order asked, each id once; what the
caller may not see, or what does not exist, is left out, never refused."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_checkout_b2c import b2c, place, settled
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import unique
from tests.waiting import eventually

UNKNOWN = "00000000-0000-0000-0000-000000000000"
SUMMARY = (
    "order_id",
    "user_id",
    "status",
    "channel",
    "total_amount",
    "currency",
    "created_at",
    "updated_at",
)


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One deployment per mode for the module: each test works with its own customers and
    products."""
    with shared_deployment(request.param, tmp_path_factory.mktemp("batch")) as running:
        yield running


def asked(*ids: str) -> list[str]:
    """The ids in the order given, with an unknown one and the first again: what a batch
    should answer is the known ones, in this order, once each."""
    return [ids[0], UNKNOWN, *ids[1:], ids[0]]


def both_ways(one: str, other: str) -> list[tuple[str, str]]:
    """Two ids in both orders: an answer in any order of its own fails one of them."""
    return [(one, other), (other, one)]


async def singles(client: httpx.AsyncClient, paths: list[str]) -> list[Any]:
    found = []
    for path in paths:
        answer = await client.get(path)
        assert answer.status_code == 200, f"{path}: {answer.text}"
        found.append(answer.json())
    return found


async def batch(client: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()
    return found


async def direct_order(deployment: Deployment, token: str, product: str) -> str:
    """A seed 001 order, once its shipment is made (it changes no more after that)."""
    body = {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
    placed = await place(deployment.ordering.client(token), body)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    shipments = deployment.fulfillment.client(token)

    async def shipped() -> bool:
        found = await shipments.get("/api/v1/shipments", params={"order_id": order_id})
        return bool(found.json())

    await eventually(shipped)
    return order_id


async def paid_order(deployment: Deployment, token: str, product: str) -> str:
    """A seed 002 order, paid."""
    sales = deployment.ordering.client(token)
    placed = await place(sales, b2c(product, 1))
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    await settled(sales, order_id, "processing")
    return order_id


async def test_products_by_id_are_as_each_products_route_shows_them(
    deployment: Deployment,
) -> None:
    customer = deployment.catalog.client(deployment.customer()["token"])
    first, second, third = [await create_product(deployment, unique("BR"), 1) for _ in range(3)]

    for one, other in both_ways(third, first):
        found = await batch(customer, "/api/v1/products", id=asked(one, other))

        paths = [f"/api/v1/products/{one}", f"/api/v1/products/{other}"]
        assert found == await singles(customer, paths)
    # paged like the list: the second of them
    paged = await batch(customer, "/api/v1/products", id=asked(third, second), offset=1)
    assert [product["id"] for product in paged] == [second]


async def test_products_by_id_cannot_be_searched_too(deployment: Deployment) -> None:
    customer = deployment.catalog.client(deployment.customer()["token"])

    answer = await customer.get("/api/v1/products", params={"id": UNKNOWN, "q": "aspirin"})

    assert answer.status_code == 422
    assert answer.json()["code"] == "conflicting_filters"


async def test_positions_are_as_each_products_route_shows_them(deployment: Deployment) -> None:
    customer = deployment.inventory.client(deployment.customer()["token"])
    operator = deployment.inventory.client(deployment.operator_token)
    first = await create_product(deployment, unique("BR"), 3)
    second = await create_product(deployment, unique("BR"), 5)

    for one, other in both_ways(second, first):
        theirs = await batch(customer, "/api/v1/inventory", product=asked(one, other))
        ours = await batch(operator, "/api/v1/inventory", product=asked(one, other))

        paths = [f"/api/v1/inventory/{one}", f"/api/v1/inventory/{other}"]
        assert theirs == await singles(customer, paths)
        assert ours == await singles(operator, paths)
        # the lots behind the figures are for operators, as on each product's route
        assert [("lots" in position) for position in theirs + ours] == [False] * 2 + [True] * 2
    assert [position["on_hand"] for position in ours] == [3, 5]


async def test_payments_of_orders_are_the_callers_only(deployment: Deployment) -> None:
    alice, bob = deployment.customer(), deployment.customer()
    product = await create_product(deployment, unique("BR"), 10)
    first, second = [await paid_order(deployment, alice["token"], product) for _ in range(2)]
    bobs = await paid_order(deployment, bob["token"], product)
    # and alice's first order cancelled, so its payment is refunded
    sales = deployment.ordering.client(alice["token"])
    assert (await sales.post(f"/api/v1/orders/{first}/cancel")).status_code == 200
    mine = deployment.payments.client(alice["token"])

    async def refunded() -> bool:
        [payment] = (await mine.get(f"/api/v1/payments/order/{first}")).json()
        return bool(payment["refunds"])

    await eventually(refunded)

    for one, other in both_ways(second, first):
        found = await batch(mine, "/api/v1/payments", order_id=asked(one, bobs, other))

        each = await singles(mine, [f"/api/v1/payments/order/{o}" for o in (one, other)])
        assert found == [payment for payments in each for payment in payments]
    assert [payment["refunds"] != [] for payment in found] == [True, False]
    theirs = deployment.payments.client(bob["token"])
    assert await batch(theirs, "/api/v1/payments", order_id=[first, second]) == []
    operator = deployment.payments.client(deployment.operator_token)
    everyone = await batch(operator, "/api/v1/payments", order_id=[bobs, first])
    assert [payment["order_id"] for payment in everyone] == [bobs, first]


async def test_shipments_of_orders_are_the_callers_only(deployment: Deployment) -> None:
    alice, bob = deployment.customer(), deployment.customer()
    product = await create_product(deployment, unique("BR"), 10)
    first, second = [await direct_order(deployment, alice["token"], product) for _ in range(2)]
    bobs = await direct_order(deployment, bob["token"], product)
    mine = deployment.fulfillment.client(alice["token"])

    for one, other in both_ways(second, first):
        found = await batch(mine, "/api/v1/shipments", order_id=asked(one, bobs, other))

        # one order_id answers as it always has: that order's shipments
        each = [await batch(mine, "/api/v1/shipments", order_id=o) for o in (one, other)]
        assert found == [shipment for shipments in each for shipment in shipments]
        assert [shipment["order_id"] for shipment in found] == [one, other]
    assert found == await singles(mine, [f"/api/v1/shipments/{s['id']}" for s in found])
    # and with a status, only those in it
    status = found[0]["status"]
    assert await batch(mine, "/api/v1/shipments", order_id=[first, second], status=status) == found
    assert await batch(mine, "/api/v1/shipments", order_id=[second], status="DELIVERED") == []
    theirs = deployment.fulfillment.client(bob["token"])
    assert await batch(theirs, "/api/v1/shipments", order_id=[first, second]) == []


async def test_orders_by_id_are_the_callers_only_and_listed_as_the_list_sorts(
    deployment: Deployment,
) -> None:
    alice, bob = deployment.customer(), deployment.customer()
    product = await create_product(deployment, unique("BR"), 10)
    first, second = [await direct_order(deployment, alice["token"], product) for _ in range(2)]
    bobs = await direct_order(deployment, bob["token"], product)
    mine = deployment.ordering.client(alice["token"])
    wanted = asked(first, bobs, second)

    found = await batch(mine, "/api/v1/orders", id=wanted)

    # the list's own order (newest first), each order once, bob's left out
    assert [order["order_id"] for order in found] == [second, first]
    orders = await singles(mine, [f"/api/v1/orders/{second}", f"/api/v1/orders/{first}"])
    # each as the order shows itself, without its lines and history (not asked for)
    assert [{key: order[key] for key in SUMMARY} for order in orders] == found
    # combined with the other filters, and paged
    assert await batch(mine, "/api/v1/orders", id=wanted, channel="b2c") == []
    assert await batch(mine, "/api/v1/orders", id=wanted, sort="created_at") == found[::-1]
    assert await batch(mine, "/api/v1/orders", id=wanted, limit=1, offset=1) == found[1:]
    operator = deployment.ordering.client(deployment.operator_token)
    everyone = await batch(operator, "/api/v1/orders", id=[first, bobs], sort="created_at")
    assert [order["order_id"] for order in everyone] == [first, bobs]


@pytest.mark.parametrize(
    ("expand", "shown"),
    [
        pytest.param(["items"], {"items"}, id="items"),
        pytest.param(["history"], {"history"}, id="history"),
        pytest.param(["items", "history", "items"], {"items", "history"}, id="both"),
    ],
)
async def test_orders_expanded_show_what_each_order_shows(
    deployment: Deployment, expand: list[str], shown: set[str]
) -> None:
    customer = deployment.customer()["token"]
    product = await create_product(deployment, unique("BR"), 10)
    first, second = [await direct_order(deployment, customer, product) for _ in range(2)]
    mine = deployment.ordering.client(customer)

    found = await batch(mine, "/api/v1/orders", id=[first, second], expand=expand)

    orders = await singles(mine, [f"/api/v1/orders/{second}", f"/api/v1/orders/{first}"])
    for summary, order in zip(found, orders, strict=True):
        assert set(summary) & {"items", "history"} == shown
        assert {k: summary[k] for k in shown} == {k: order[k] for k in shown}


async def test_orders_expanded_by_an_unknown_name_are_refused(deployment: Deployment) -> None:
    mine = deployment.ordering.client(deployment.customer()["token"])

    answer = await mine.get("/api/v1/orders", params={"expand": ["items", "payments"]})

    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("context", "path", "name"),
    [
        pytest.param("catalog", "/api/v1/products", "id", id="products"),
        pytest.param("inventory", "/api/v1/inventory", "product", id="positions"),
        pytest.param("payments", "/api/v1/payments", "order_id", id="payments"),
        pytest.param("fulfillment", "/api/v1/shipments", "order_id", id="shipments"),
        pytest.param("ordering", "/api/v1/orders", "id", id="orders"),
    ],
)
async def test_a_batch_takes_at_most_a_hundred_ids(
    deployment: Deployment, context: str, path: str, name: str
) -> None:
    server = getattr(deployment, context)
    client = server.client(deployment.customer()["token"])
    ids = [unique("id") for _ in range(101)]

    assert await batch(client, path, **{name: ids[:100]}) == []
    answer = await client.get(path, params={name: ids})
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"
