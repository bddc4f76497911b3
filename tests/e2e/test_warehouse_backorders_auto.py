"""Backorders released by themselves (`ORDERLY_BACKORDER_RELEASE=auto`, the default), in both
modes: inventory tells of each receipt (`inventory.received`), and a product's open
backorders go to the floor oldest first, as many as the units received cover. A module of
its own: its deployment would make three in `test_warehouse_backorders`, more PostgreSQL
connections than one test process may hold."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_seed001_flow import create_product
from tests.e2e.test_warehouse_backorders import (
    WAITS,
    ops,
    picked_short,
    released_tasks,
    shop_order,
    stock,
    told,
)
from tests.e2e.wire import tapped
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module", params=BACKENDS)
def auto_releasing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A deployment whose backorders are released as their stock is received (the
    default)."""
    tmp = tmp_path_factory.mktemp("auto-release")
    with shared_deployment(request.param, tmp, **WAITS) as deployed:
        yield deployed


async def test_backorders_are_released_oldest_first_as_their_stock_is_received(
    auto_releasing: Deployment,
) -> None:
    deployed = auto_releasing
    floor = ops(deployed)
    inventory = deployed.inventory.client(deployed.operator_token)
    async with tapped(deployed.backend) as wire:
        # given two orders of one product picked short: backorders of 2, then of 1
        product_id = await create_product(deployed, unique("AR"), 3 + 2)
        first = await shop_order(deployed, product_id, 3)
        await picked_short(floor, first, found=1)
        [older] = await told(wire, first, "fulfillment.backordered")
        second = await shop_order(deployed, product_id, 2)
        await picked_short(floor, second, found=1)
        [newer] = await told(wire, second, "fulfillment.backordered")
        assert (older["quantity"], newer["quantity"]) == (2, 1)

        async def shown(backorder: dict[str, Any]) -> dict[str, Any]:
            path = f"/api/v1/backorders/{backorder['backorderId']}"
            found: dict[str, Any] = (await floor.get(path)).json()
            return found

        # one unit received covers neither the older nor, passing it, the newer
        receipt = {"quantity": 1, "lot": "R1"}
        received = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        assert received.status_code == 201, received.text

        async def told_received() -> list[dict[str, Any]] | None:
            found = [
                e["data"]
                for e in await wire.everything()
                if e["event_type"] == "inventory.received" and e["data"]["productId"] == product_id
            ]
            return found or None

        [event] = await eventually(told_received)
        assert (event["dc"], event["lot"], event["quantity"]) == ("MAIN", "R1", 1)

        # two more: the older goes to the floor by itself, reserved; the newer waits
        receipt = {"quantity": 2, "lot": "R2"}
        received = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        assert received.status_code == 201, received.text

        async def released() -> dict[str, Any] | None:
            found = await shown(older)
            return found if found["status"] == "RELEASED" else None

        key = (await eventually(released))["fulfillment_id"]
        assert (await shown(newer))["status"] == "OPEN"
        tasks = await released_tasks(floor, key)
        assert sorted((task["lot"], task["quantity"]) for task in tasks) == [("R1", 1), ("R2", 1)]
        assert (await stock(deployed, product_id))["hard_reserved"] == 2
