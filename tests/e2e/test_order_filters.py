"""The order list's account filter, over HTTP in both modes: an operator narrows everyone's
orders to one B2B account's (or several), alone or with the other filters; a customer or
another account's member naming an account sees no more than before, and nothing of it."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.b2b import World, b2b_world, order, pharmacy, product, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_checkout_b2c import place
from tests.e2e.test_seed001_flow import ADDRESS


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with b2b_world(request.param, tmp_path_factory.mktemp("order-filters")) as running:
        yield running


async def listed(client: httpx.AsyncClient, **params: Any) -> list[str]:
    answer = await client.get("/api/v1/orders", params=params)
    assert answer.status_code == 200, answer.text
    return [summary["order_id"] for summary in answer.json()]


async def test_the_order_list_filters_by_account(world: World) -> None:
    # given two pharmacies with an order each (one of them two), and a shopper's order
    pid = await product(world, price="4.00", stock=50)
    first, second = pharmacy(world), pharmacy(world)
    ones = [(await order(first, [(pid, n)]))["order_id"] for n in (1, 2)]
    other = (await order(second, [(pid, 3)]))["order_id"]
    for order_id in ones:
        assert (await settled(first.buyer, order_id))["status"] == "CONFIRMED"
    assert (await settled(second.buyer, other))["status"] == "CONFIRMED"
    shopper = world.deployed.ordering.client(world.deployed.customer()["token"])
    body = {"items": [{"product_id": pid, "quantity": 1}], "shipping_address": ADDRESS}
    direct = await place(shopper, body)
    assert direct.status_code == 201, direct.text
    ops = world.ops(world.deployed.ordering)

    # an operator's list narrows to one account's orders, newest first; several match any
    assert await listed(ops, account=first.account_id) == ones[::-1]
    assert await listed(ops, account=second.account_id) == [other]
    both = await listed(ops, account=[first.account_id, second.account_id])
    assert both == [other, *ones[::-1]]
    assert await listed(ops, account="PH-00000") == []
    # with the other filters, each narrows further
    assert await listed(ops, account=first.account_id, status="CONFIRMED", limit=1) == [ones[1]]
    assert await listed(ops, account=first.account_id, channel="b2b") == ones[::-1]
    assert await listed(ops, account=first.account_id, channel="direct") == []
    assert await listed(ops, account=first.account_id, status="PENDING_SHIPMENT") == []
    assert await listed(ops, account=first.account_id, created_to="2000-01-01") == []

    # each order says whose account it is for, in the list and on its own; a shopper's none
    summaries = (await ops.get("/api/v1/orders", params={"limit": 500})).json()
    accounts = {summary["order_id"]: summary.get("account_id") for summary in summaries}
    assert [accounts[order_id] for order_id in ones] == [first.account_id] * 2
    assert accounts[other] == second.account_id
    assert accounts[direct.json()["order_id"]] is None
    shown = (await ops.get(f"/api/v1/orders/{other}")).json()
    assert shown["account_id"] == second.account_id
    assert "account_id" not in (await ops.get(f"/api/v1/orders/{direct.json()['order_id']}")).json()

    # a member naming its own account sees its orders; another account's, none of them
    assert await listed(first.buyer, account=first.account_id) == ones[::-1]
    assert await listed(first.buyer, account=second.account_id) == []
    assert await listed(shopper, account=first.account_id) == []
    assert await listed(shopper) == [direct.json()["order_id"]]

    # an account id is at most 36 characters
    refused = await ops.get("/api/v1/orders", params={"account": "P" * 37})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed")
