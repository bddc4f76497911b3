"""An operator's fault switches (`ORDERLY_FAULT_SWITCHES`), for drills and `orderly demo
run`: with inventory switched unreachable, a direct order is refused and nothing is written,
the guarded checkout's breaker opens and its orders proceed on the last ATP seen, to be
re-verified by their reservation; switched back, orders go through as before. Without the
setting there is nothing to switch."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment, shared_deployment
from tests.e2e.server import embedded
from tests.e2e.test_checkout_b2c import place, settled
from tests.e2e.test_checkout_guarded import breaker_open, fallback_checks, guarded, saga
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import unique


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    settings = {
        "ORDERLY_FAULT_SWITCHES": "true",
        "ORDERLY_BREAKER_THRESHOLD": "2",
        "ORDERLY_BREAKER_TTL": "1",
    }
    with shared_deployment("embedded", tmp_path_factory.mktemp("faults"), **settings) as running:
        yield running


async def test_inventory_switched_unreachable_opens_the_breaker_and_back_closes_it(
    deployed: Deployment,
) -> None:
    ops = deployed.ordering.client(deployed.operator_token)
    shopper = deployed.ordering.client(deployed.customer()["token"])
    product = await create_product(deployed, unique("F"), 10)
    first = await place(shopper, guarded(product, 1))
    assert first.json()["status"] == "PLACED"  # a live check: its ATP is remembered

    # only operators switch (to anyone else the route does not exist), only what can be
    switched = await shopper.put("/api/v1/admin/faults", json={"unreachable": ["inventory"]})
    assert switched.status_code == 404
    wrong = await ops.put("/api/v1/admin/faults", json={"unreachable": ["payments"]})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "validation_failed")
    down = await ops.put("/api/v1/admin/faults", json={"unreachable": ["inventory"]})
    assert down.json() == {"unreachable": ["inventory"]}

    # a direct order needs inventory's hold: refused, and nothing is written
    before = len((await shopper.get("/api/v1/orders")).json())
    direct = {"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}
    refused = await shopper.post("/api/v1/orders", json=direct)
    assert (refused.status_code, refused.json()["code"]) == (503, "dependency_unavailable")
    assert len((await shopper.get("/api/v1/orders")).json()) == before

    # guarded orders are taken on the last ATP seen once the breaker opens, and placed when
    # their reservation (which does not go through the switched port) re-verifies them
    answers = [await shopper.post("/api/v1/orders", json=guarded(product, 1)) for _ in range(3)]
    assert {a.status_code for a in answers} <= {201, 202}
    assert breaker_open(deployed) == 1
    assert fallback_checks(deployed) >= 3
    for answer in answers:
        order_id = answer.json()["order_id"]
        assert (await saga(deployed, order_id))["steps"][0]["detail"] == {"source": "fallback"}
        await settled(shopper, order_id, "PLACED")

    # switched back: orders go through as before, and the breaker closes
    up = await ops.put("/api/v1/admin/faults", json={"unreachable": []})
    assert up.json() == {"unreachable": []}
    assert (await ops.get("/api/v1/admin/faults")).json() == {"unreachable": []}
    placed = await place(shopper, direct)
    assert placed.status_code == 201, placed.text


def test_without_the_setting_there_is_nothing_to_switch(tmp_path: Path) -> None:
    with embedded(tmp_path) as server:
        token = server.login()
        for method in ("GET", "PUT"):
            answer = httpx.request(
                method,
                f"{server.url}/api/v1/admin/faults",
                json={"unreachable": ["inventory"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert (answer.status_code, answer.json()["code"]) == (404, "fault_switches_off")
