"""A product that exists is never unknown: ordered, checked and carted the instant its 201
comes back, in both modes, even while no message leaves an outbox."""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS
from tests.services import unique


@pytest.fixture(scope="module", params=BACKENDS)
def silent(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """No relay runs: `product.created` never reaches ordering or inventory, so whatever
    works here does not wait for it."""
    tmp = tmp_path_factory.mktemp("product-known")
    with shared_deployment(request.param, tmp, ORDERLY_RELAY_ENABLED="false") as running:
        yield running


async def new_product(deployed: Deployment, stock: int) -> str:
    body = {"name": "Saline", "sku": unique("NOW"), "price": "3.00", "stock": stock}
    created = await deployed.catalog.client(deployed.operator_token).post(
        "/api/v1/products", json=body
    )
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    return product_id


async def test_the_availability_check_knows_a_product_and_its_stock_at_once(
    silent: Deployment,
) -> None:
    product = await new_product(silent, 5)
    customer = silent.inventory.client(silent.customer()["token"])

    check = await customer.post(
        "/api/v1/products/check-availability",
        json={"items": [{"product_id": product, "quantity": 5}]},
    )

    assert check.status_code == 200, check.text
    assert check.json()["items"][0]["available"] == 5


async def test_a_direct_order_for_a_product_created_this_instant_is_placed(
    silent: Deployment,
) -> None:
    product = await new_product(silent, 5)
    orders = silent.ordering.client(silent.customer()["token"])

    placed = await orders.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product, "quantity": 2}], "shipping_address": ADDRESS},
    )

    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "PENDING_SHIPMENT"
    order = (await orders.get(f"/api/v1/orders/{placed.json()['order_id']}")).json()
    assert order["items"] == [{"product_id": product, "quantity": 2, "unit_price": "3.00"}]


async def test_a_b2c_order_and_a_cart_line_know_the_product_and_its_price(
    silent: Deployment,
) -> None:
    product = await new_product(silent, 5)
    orders = silent.ordering.client(silent.customer()["token"])

    placed = await orders.post(
        "/api/v1/orders",
        json={
            "channel": "b2c",
            "payment_method": "tok_visa",
            "items": [{"product_id": product, "quantity": 2}],
            "shipping_address": ADDRESS,
        },
    )
    carted = await orders.post("/api/v1/cart/items", json={"product_id": product, "quantity": 1})

    assert placed.status_code == 201, placed.text
    assert placed.json()["total_amount"] == "6.00"
    assert carted.status_code == 201, carted.text
    assert [line["product_id"] for line in carted.json()["items"]] == [product]


async def test_a_product_that_does_not_exist_is_still_unknown(silent: Deployment) -> None:
    orders = silent.ordering.client(silent.customer()["token"])

    placed = await orders.post(
        "/api/v1/orders",
        json={
            "channel": "b2c",
            "payment_method": "tok_visa",
            "items": [{"product_id": unique("nothing"), "quantity": 1}],
            "shipping_address": ADDRESS,
        },
    )

    assert placed.status_code == 422
    assert placed.json()["code"] == "unknown_product"
