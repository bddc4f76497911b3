"""Payments in a running server charge through the card gateway its settings name
(`ORDERLY_PAYMENT_GATEWAY_URL`, here `orderly payments-sim`): what a B2C order was charged,
and refunded when it is cancelled, is what the gateway moved, once each."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.test_checkout_b2c import b2c, place, settled
from tests.e2e.test_seed001_flow import create_product
from tests.payments_sim import GatewaySim, running_gateway
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewaySim]:
    with running_gateway(tmp_path) as running:
        yield running


@pytest.fixture
def deployment(tmp_path: Path, gateway: GatewaySim) -> Iterator[Deployment]:
    """One embedded process whose payments charge through `gateway`."""
    backend = Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
    deployed = deploy(backend, tmp_path, ORDERLY_PAYMENT_GATEWAY_URL=gateway.url)
    try:
        yield deployed
    finally:
        for server in deployed.servers:
            server.stop()


async def test_an_order_is_charged_and_refunded_through_the_gateway(
    deployment: Deployment, gateway: GatewaySim
) -> None:
    # given a customer's paid B2C order (two units at 49.99)
    customer = deployment.customer()
    sales = deployment.ordering.client(customer["token"])
    pay = deployment.payments.client(customer["token"])
    product = await create_product(deployment, unique("PAY"), 5)
    order_id = (await place(sales, b2c(product, 2))).json()["order_id"]
    await settled(sales, order_id, "processing")
    [payment] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
    assert payment["status"] == "captured"

    # then the gateway authorised and captured the order's amount, once, under its keys
    pid = payment["payment_id"]
    moves = [m for m in gateway.movements()["movements"] if m["key"].startswith(f"{pid}:")]
    assert [(m["kind"], m["cents"], m["key"]) for m in moves] == [
        ("authorize", 9998, f"{pid}:authorize"),
        ("capture", 9998, f"{pid}:capture"),
    ]
    reference = moves[0]["reference"]

    # when the customer cancels the order
    cancelled = await sales.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200

    # then the gateway gave the amount back, once
    async def refunded() -> dict[str, Any] | None:
        totals: dict[str, Any] = gateway.movements(reference)["references"][reference]
        return totals if totals["refunds"] else None

    totals = await eventually(refunded)
    assert (totals["captured"], totals["captures"]) == (9998, 1)
    assert (totals["refunded"], totals["refunds"]) == (9998, 1)

    async def payment_refunded() -> bool:
        [found] = (await pay.get(f"/api/v1/payments/order/{order_id}")).json()
        return bool(found["status"] == "refunded")

    await eventually(payment_refunded)
    assert [m["kind"] for m in gateway.movements(reference)["movements"]] == [
        "authorize",
        "capture",
        "refund",
    ]
