"""Prices over HTTP: each caller's own price and its source, from WAC, contracts and 340B."""

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, embedded
from tests.e2e.test_accounts import PASSWORD, enrolled
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("pricing")) as running:
        yield running


def account(server: Server, *extra: str) -> tuple[str, str]:
    """A pharmacy account and the full token of its admin (a buyer)."""
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    email = f"buyer-{uuid.uuid4().hex[:8]}@pharmacy.example"
    created = server.cli(
        *("accounts", "create", "--id", account_id, "--name", "Pharmacy"),
        *("--dea", "AP5836727", "--dea-expires", "2099-12-31", "--state-licence", "PA-1"),
        *("--admin-email", email, "--admin-password", PASSWORD, *extra),
    )
    assert created.returncode == 0, created.stderr
    return account_id, enrolled(server, email)[0]["token"]


async def price(client: httpx.AsyncClient, product_id: str, quantity: int = 1) -> Any:
    answer = await client.get(
        "/api/v1/prices", params={"product": product_id, "quantity": quantity}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_each_caller_gets_its_own_price_and_where_it_comes_from(
    server: Server, today: date
) -> None:
    operator = server.client(server.login())
    created = await operator.post(
        "/api/v1/products", json={"name": "Atorvastatin", "sku": unique("PRC"), "price": "100.00"}
    )
    product_id = created.json()["id"]
    customer = server.client(server.register_customer()["token"])

    async def listed() -> bool:
        return (
            await customer.get("/api/v1/prices", params={"product": product_id})
        ).status_code == 200

    await eventually(listed)  # pricing learns the list price from product.created
    assert await price(customer, product_id) == {
        "product_id": product_id,
        "quantity": 1,
        "price": "100.00",
        "currency": "USD",
        "source": "wac",
        "contract_id": None,
        "min_quantity": 1,
        "effective_date": today.isoformat(),
    }

    pharmacy, buyer_token = account(server)
    _, covered_token = account(server, "--340b-id", "DSH123456")
    buyer, hospital = server.client(buyer_token), server.client(covered_token)
    contract = await operator.post(
        "/api/v1/contracts",
        json={
            "name": "Main Street 2026",
            "kind": "account",
            "party": pharmacy,
            "starts_on": (today - timedelta(days=10)).isoformat(),
            "ends_on": (today + timedelta(days=355)).isoformat(),
            "prices": [
                {"product_id": product_id, "price": "80.00"},
                {"product_id": product_id, "price": "72.50", "min_quantity": 100},
            ],
        },
    )
    assert contract.status_code == 201, contract.text
    expired = await operator.post(
        "/api/v1/contracts",
        json={
            "name": "Last year",
            "kind": "segment",
            "party": "independent",
            "starts_on": (today - timedelta(days=400)).isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
            "prices": [{"product_id": product_id, "price": "1.00"}],
        },
    )
    assert expired.status_code == 201

    mine = await price(buyer, product_id)
    assert (mine["price"], mine["source"], mine["contract_id"]) == (
        "80.00",
        "contract",
        contract.json()["id"],
    )
    assert (await price(buyer, product_id, 100))["price"] == "72.50"
    assert (await price(customer, product_id))["source"] == "wac"
    # a GPO contract lower than the account's reaches the account once it joins the GPO
    await operator.post(
        "/api/v1/contracts",
        json={
            "name": "GPO",
            "kind": "gpo",
            "party": "GPO-PREMIER",
            "starts_on": today.isoformat(),
            "prices": [{"product_id": product_id, "price": "75.00"}],
        },
    )
    assert (await price(buyer, product_id))["price"] == "80.00"

    async def joined() -> bool:  # pricing learns of the account from account.created
        gpo = {"gpo": "GPO-PREMIER"}
        answer = await operator.put(f"/api/v1/prices/accounts/{pharmacy}/gpo", json=gpo)
        return answer.status_code == 204

    await eventually(joined)
    assert (await price(buyer, product_id))["price"] == "75.00"
    # a 340B account pays its 340B price
    assert (await price(hospital, product_id))["source"] == "wac"
    assert (
        await operator.put(f"/api/v1/prices/{product_id}/340b", json={"price": "6.00"})
    ).status_code == 204

    async def special() -> bool:
        return (await price(hospital, product_id))["source"] == "340b"

    await eventually(special)
    assert (await price(hospital, product_id))["price"] == "6.00"
    # a customer cannot ask for another account's price, nor change any
    theirs = await customer.get(
        "/api/v1/prices", params={"product": product_id, "account": pharmacy}
    )
    assert theirs.json()["source"] == "wac"
    assert (await customer.post("/api/v1/contracts", json={})).status_code == 404
    assert (
        await customer.put(f"/api/v1/prices/{product_id}/wac", json={"price": "0.01"})
    ).status_code == 403
    for_them = await operator.get(
        "/api/v1/prices", params={"product": product_id, "account": pharmacy}
    )
    assert for_them.json()["price"] == "75.00"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"starts_on": "2026-02-01", "ends_on": "2026-01-01"}, "invalid_price"),
        (
            {
                "prices": [
                    {"product_id": "p", "price": "1.00"},
                    {"product_id": "p", "price": "2.00"},
                ]
            },
            "invalid_price",
        ),
        ({"prices": [{"product_id": "p", "price": "1.001"}]}, "validation_failed"),
        ({"prices": [{"product_id": "p", "price": "-1.00"}]}, "validation_failed"),
        ({"prices": []}, "validation_failed"),
        ({"kind": "cousin"}, "validation_failed"),
    ],
)
def test_bad_contracts_are_refused(server: Server, body: dict[str, Any], code: str) -> None:
    contract = {
        "name": "C",
        "kind": "segment",
        "party": "independent",
        "starts_on": "2026-01-01",
        "prices": [{"product_id": "p", "price": "1.00"}],
        **body,
    }
    refused = httpx.post(
        f"{server.url}/api/v1/contracts",
        json=contract,
        headers={"Authorization": f"Bearer {server.login()}"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == code


def test_a_product_without_a_price_answers_422(server: Server) -> None:
    answer = httpx.get(
        f"{server.url}/api/v1/prices",
        params={"product": "nothing-here"},
        headers={"Authorization": f"Bearer {server.login()}"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "no_price"


@pytest.mark.parametrize("kind", ["wac", "340b"])
async def test_a_price_takes_effect_from_yesterday_to_a_year_ahead(
    server: Server, kind: str, today: date
) -> None:
    operator = server.client(server.login())
    created = await operator.post(
        "/api/v1/products", json={"name": "Metformin", "sku": unique("EFF"), "price": "10.00"}
    )
    product_id = created.json()["id"]

    async def listed() -> bool:
        return (
            await operator.get("/api/v1/prices", params={"product": product_id})
        ).status_code == 200

    await eventually(listed)
    for day in ("1970-01-01", today - timedelta(days=2), today + timedelta(days=367), "9999-12-31"):
        refused = await operator.put(
            f"/api/v1/prices/{product_id}/{kind}",
            json={"price": "1.00", "effective_from": str(day)},
        )
        assert refused.status_code == 422, (day, refused.text)
        assert refused.json()["code"] == "invalid_effective_date"
    for day in (today - timedelta(days=1), today + timedelta(days=366)):
        taken = await operator.put(
            f"/api/v1/prices/{product_id}/{kind}",
            json={"price": "9.00", "effective_from": str(day)},
        )
        assert taken.status_code == 204, (day, taken.text)
