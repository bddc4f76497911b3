"""Every channel charges the caller's own price, as `/api/v1/prices` quotes it: pricing
locks the order's figures (`price.locked`) and voids them when it is cancelled; a WAC
change reaches the catalog, the cart, new orders and their payments. In both modes."""

import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.server import stocked
from tests.e2e.test_accounts import PASSWORD, enrolled
from tests.e2e.test_seed001_flow import ADDRESS
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with shared_deployment(request.param, tmp_path_factory.mktemp("order-prices")) as running:
        yield running


async def product(deployed: Deployment, price: str, stock: int = 500) -> str:
    operator = deployed.catalog.client(deployed.operator_token)
    created = await operator.post(
        "/api/v1/products",
        json={"name": "Atorvastatin 20 mg", "sku": unique("PRC"), "price": price, "stock": stock},
    )
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    await stocked(deployed.inventory.client(deployed.operator_token), product_id, stock)
    return product_id


def pharmacy(deployed: Deployment) -> tuple[str, str]:
    """A pharmacy account and the token of its admin, one of its buyers."""
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    email = f"buyer-{uuid.uuid4().hex[:8]}@pharmacy.example"
    created = deployed.identity.cli(
        *("accounts", "create", "--id", account_id, "--name", "Main Street Pharmacy"),
        *("--dea", "AP5836727", "--dea-expires", "2099-12-31", "--state-licence", "PA-1"),
        *("--admin-email", email, "--admin-password", PASSWORD),
    )
    assert created.returncode == 0, created.stderr
    return account_id, enrolled(deployed.identity, email)[0]["token"]


async def quoted(client: httpx.AsyncClient, product_id: str, quantity: int, source: str) -> Any:
    """The caller's quote, once pricing quotes it from `source` (it learns of new accounts
    from identity's messages)."""

    async def asked() -> Any:
        answer = await client.get(
            "/api/v1/prices", params={"product": product_id, "quantity": quantity}
        )
        return answer.json() if answer.json().get("source") == source else None

    return await eventually(asked)


async def locks(deployed: Deployment, order_id: str, status: str) -> list[dict[str, Any]]:
    operator = deployed.pricing.client(deployed.operator_token)

    async def in_state() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = (
            await operator.get(f"/api/v1/prices/locks/{order_id}")
        ).json()
        return found if found and all(lock["status"] == status for lock in found) else None

    return await eventually(in_state)


async def account_contract(
    deployed: Deployment, name: str, account_id: str, product_id: str, price: str
) -> None:
    """An operator's contract for the account: `price` for the product, from this year."""
    contract = await deployed.pricing.client(deployed.operator_token).post(
        "/api/v1/contracts",
        json={
            "name": name,
            "kind": "account",
            "party": account_id,
            "starts_on": "2026-01-01",
            "prices": [{"product_id": product_id, "price": price}],
        },
    )
    assert contract.status_code == 201, contract.text


async def test_a_contract_buyer_pays_its_contract_price_locked_with_the_order(
    deployed: Deployment,
) -> None:
    product_id = await product(deployed, "61.20")
    account_id, token = pharmacy(deployed)
    await account_contract(deployed, "Main Street 2026", account_id, product_id, "45.00")
    buyer = deployed.pricing.client(token)
    quote = await quoted(buyer, product_id, 24, "contract")
    assert quote["price"] == "45.00"

    shop = deployed.ordering.client(token)
    order = {"items": [{"product_id": product_id, "quantity": 24}], "shipping_address": ADDRESS}
    # the direct flow: locked as it is placed (b2b, an account's own, locks in its saga)
    placed = await shop.post("/api/v1/orders", json={**order, "channel": "direct"})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    order = (await shop.get(f"/api/v1/orders/{order_id}")).json()
    assert order["items"][0]["unit_price"] == "45.00"
    assert order["total_amount"] == "1080.00"

    [lock] = await locks(deployed, order_id, "locked")
    assert (lock["price"], lock["source"], lock["quantity"]) == ("45.00", "contract", 24)

    cancelled = await shop.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    [voided] = await locks(deployed, order_id, "voided")
    assert voided["price"] == "45.00"


async def test_an_order_an_operator_places_for_a_contract_buyer_is_at_the_buyers_price(
    deployed: Deployment,
) -> None:
    product_id = await product(deployed, "61.20")
    account_id, token = pharmacy(deployed)
    await account_contract(deployed, "Call centre 2026", account_id, product_id, "45.00")
    await quoted(deployed.pricing.client(token), product_id, 2, "contract")
    buyer = (await deployed.identity.client(token).get("/api/v1/auth/session")).json()["userId"]

    # an operator takes the pharmacy's order on the phone
    operator = deployed.ordering.client(deployed.operator_token)
    body = {
        "items": [{"product_id": product_id, "quantity": 2}],
        "shipping_address": ADDRESS,
        "channel": "direct",
        "on_behalf_of": buyer,
    }
    placed = await operator.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    # the pharmacy's own order, at the pharmacy's contract price, its stock held for it
    order = (await deployed.ordering.client(token).get(f"/api/v1/orders/{order_id}")).json()
    assert order["user_id"] == buyer
    assert (order["items"][0]["unit_price"], order["total_amount"]) == ("45.00", "90.00")
    [lock] = await locks(deployed, order_id, "locked")
    assert (lock["price"], lock["source"]) == ("45.00", "contract")


async def test_a_wac_change_reaches_the_catalog_the_cart_new_orders_and_payments(
    deployed: Deployment,
) -> None:
    product_id = await product(deployed, "10.00")
    customer = deployed.customer()
    shop = deployed.ordering.client(customer["token"])
    first = await shop.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product_id, "quantity": 2}], "shipping_address": ADDRESS},
    )
    assert first.status_code == 201, first.text

    changed = await deployed.pricing.client(deployed.operator_token).put(
        f"/api/v1/prices/{product_id}/wac", json={"price": "12.50"}
    )
    assert changed.status_code == 204, changed.text
    catalog = deployed.catalog.client(customer["token"])

    async def catalog_price() -> bool:
        shown = (await catalog.get(f"/api/v1/products/{product_id}")).json()
        return Decimal(str(shown["price"])) == Decimal("12.50")

    await eventually(catalog_price)

    added = await shop.post("/api/v1/cart/items", json={"product_id": product_id, "quantity": 2})
    assert added.status_code == 201, added.text
    cart = (await shop.get("/api/v1/cart")).json()
    assert (cart["items"][0]["unit_price"], cart["total"]) == ("12.50", "25.00")

    checked_out = await shop.post(
        "/api/v1/cart/checkout",
        json={"shipping_address": ADDRESS, "channel": "b2c", "payment_method": "tok_visa"},
    )
    assert checked_out.status_code == 201, checked_out.text
    assert checked_out.json()["total_amount"] == "25.00"
    order_id = checked_out.json()["order_id"]
    payments = deployed.payments.client(customer["token"])

    async def charged() -> Any:
        answer = await payments.get(f"/api/v1/payments/order/{order_id}")
        found = answer.json() if answer.status_code == 200 else []
        return found if found and found[0]["status"] == "captured" else None

    [payment] = await eventually(charged)
    assert payment["amount"] == "25.00"

    [locked] = await locks(deployed, order_id, "locked")
    assert (locked["price"], locked["source"]) == ("12.50", "wac")
    # the order placed before the change keeps the price it was placed at
    earlier = (await shop.get(f"/api/v1/orders/{first.json()['order_id']}")).json()
    assert earlier["items"][0]["unit_price"] == "10.00"


async def test_a_failed_checkout_voids_the_prices_it_locked(deployed: Deployment) -> None:
    product_id = await product(deployed, "8.40")
    shop = deployed.ordering.client(deployed.customer()["token"])
    placed = await shop.post(
        "/api/v1/orders",
        json={
            "channel": "b2c",
            "payment_method": "tok_decline",
            "items": [{"product_id": product_id, "quantity": 3}],
            "shipping_address": ADDRESS,
        },
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["total_amount"] == "25.20"
    [voided] = await locks(deployed, placed.json()["order_id"], "voided")
    assert (voided["price"], voided["quantity"]) == ("8.40", 3)
