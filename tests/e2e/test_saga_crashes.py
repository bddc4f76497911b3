"""The guarded checkout's saga survives a crash at every step.

A fault hook (`ORDERLY_CRASH_AFTER`) kills the process at one point of the saga: before a
step's transaction commits, or after it commits and before its message is acknowledged.
The process is started again, and every order must end PLACED or PAYMENT_FAILED with its
stock and its payment in agreement, and nothing charged twice.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.server import Server
from tests.e2e.test_checkout_b2c import atp
from tests.e2e.test_checkout_guarded import guarded
from tests.e2e.test_seed001_flow import create_product
from tests.services import unique
from tests.waiting import eventually

PAID = [
    "checkout.committed",
    "inventory.reserve_on_command:inventory.reserve",
    "ordering.on_inventory_reserved:inventory.reserved",
    "payments.charge_on_command:payment.charge",
    "ordering.on_payment_completed:payment.completed",
]
DECLINED = [
    "ordering.on_payment_failed:payment.failed",
    "inventory.release_on_command:inventory.release",
    "ordering.advance_saga_on_reply:inventory.released",
]


def points(steps: list[str]) -> list[str]:
    found = []
    for step in steps:
        if step == "checkout.committed":
            found.append(step)
        else:
            found += [f"during:{step}", f"after:{step}"]
    return found


# `make test` crashes the saga at one point of each kind, in each mode: while a step's
# transaction is open, after it committed but before its message was acknowledged, and in a
# compensation. `make chaos` runs every point.
EVERY_CHECK = {
    "embedded": {
        "during:payments.charge_on_command:payment.charge",
        "after:ordering.on_inventory_reserved:inventory.reserved",
        "after:inventory.release_on_command:inventory.release",
    },
    "distributed": {
        "checkout.committed",
        "after:payments.charge_on_command:payment.charge",
        "after:ordering.advance_saga_on_reply:inventory.released",
    },
}


def case(mode: str, point: str, token: str, outcome: str) -> Any:
    chaos = () if point in EVERY_CHECK[mode] else (pytest.mark.chaos,)
    return pytest.param(point, token, outcome, id=point, marks=chaos)


CASES = [
    *[case("embedded", p, "tok_visa", "PLACED") for p in points(PAID)],
    *[case("embedded", p, "tok_decline", "PAYMENT_FAILED") for p in points(DECLINED)],
]
# On PostgreSQL and RabbitMQ, each step once: killed after it committed, before its ack.
DISTRIBUTED = [
    *[
        case("distributed", p, "tok_visa", "PLACED")
        for p in points(PAID)
        if not p.startswith("during:")
    ],
    *[
        case("distributed", p, "tok_decline", "PAYMENT_FAILED")
        for p in points(DECLINED)
        if not p.startswith("during:")
    ],
]
# A step unanswered for a second is sent again, up to 30 times: a restarted process has half a
# minute to come back before its step counts as failed. With 3 resends, a distributed process
# on a busy host came back after they had run out, and the saga was rightly left stuck.
SETTINGS = {
    "ORDERLY_SAGA_STEP_TIMEOUT": "1",
    "ORDERLY_SAGA_STEP_RETRIES": "30",
    "ORDERLY_CHECKOUT_WAIT": "0",
    "ORDERLY_SWEEP_INTERVAL": "0.2",
    "ORDERLY_POLL_INTERVAL": "0.2",
}


async def crash_and_recover(deployed: Deployment, marker: Path, token: str, outcome: str) -> None:
    customer = deployed.customer()
    sales = deployed.ordering.client(customer["token"])
    product = await create_product(deployed, unique("CRASH"), 5)

    async def ordered() -> bool:
        with contextlib.suppress(httpx.HTTPError):  # the process may die before it answers
            answer = await sales.post("/api/v1/orders", json=guarded(product, 2, token))
            if answer.status_code == 422 and answer.json()["code"] == "unknown_product":
                return False
            assert answer.status_code == 202, answer.text
        return True

    await eventually(ordered)

    # the process dies at the point ...
    async def died() -> list[Server]:
        return [s for s in deployed.servers if s.process and s.process.poll() is not None]

    [crashed] = await eventually(died, within=30)
    assert await asyncio.to_thread(marker.exists)  # it died at the point, not otherwise
    # ... and is started again
    crashed.start().wait_ready()

    async def one_order() -> list[dict[str, Any]] | None:
        with contextlib.suppress(httpx.HTTPError):
            orders: list[dict[str, Any]] = (await sales.get("/api/v1/orders")).json()
            return orders or None
        return None

    [order] = await eventually(one_order, within=30)

    async def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = (await sales.get(f"/api/v1/orders/{order['order_id']}")).json()
        return found if found["status"] in {"PLACED", "PAYMENT_FAILED", "CANCELLED"} else None

    final = await eventually(ended, within=60)
    assert final["status"] == outcome

    # stock and payment agree with the outcome; nothing was charged twice
    pay = deployed.payments.client(customer["token"])
    [payment] = (await pay.get(f"/api/v1/payments/order/{order['order_id']}")).json()
    if outcome == "PLACED":
        assert await atp(deployed, product) == 3
        assert (payment["status"], payment["refunds"]) == ("captured", [])
    else:

        async def stock_back() -> bool:
            return await atp(deployed, product) == 5

        await eventually(stock_back)
        assert (payment["status"], payment["reason"]) == ("failed", "card_declined")
    operator = deployed.ordering.client(deployed.operator_token)
    saga = (await operator.get(f"/api/v1/sagas/{order['order_id']}")).json()
    assert saga["state"] == ("completed" if outcome == "PLACED" else "compensated")


@pytest.mark.parametrize(("point", "token", "outcome"), CASES)
async def test_embedded_saga_survives_a_crash(
    tmp_path: Path, point: str, token: str, outcome: str
) -> None:
    marker = tmp_path / "crashed"
    backend = Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
    deployed = deploy(
        backend,
        tmp_path,
        ORDERLY_CRASH_AFTER=point,
        ORDERLY_CRASH_MARKER=str(marker),
        **SETTINGS,
    )
    try:
        await crash_and_recover(deployed, marker, token, outcome)
    finally:
        for server in deployed.servers:
            server.stop()


@needs_services
@pytest.mark.distributed
@pytest.mark.parametrize(("point", "token", "outcome"), DISTRIBUTED)
async def test_distributed_saga_survives_a_crash(
    distributed_backend: Backend, tmp_path: Path, point: str, token: str, outcome: str
) -> None:
    marker = tmp_path / "crashed"
    deployed = deploy(
        distributed_backend,
        tmp_path,
        ORDERLY_CRASH_AFTER=point,
        ORDERLY_CRASH_MARKER=str(marker),
        **SETTINGS,
    )
    try:
        await crash_and_recover(deployed, marker, token, outcome)
    finally:
        for server in deployed.servers:
            server.stop()


async def test_a_checkout_whose_request_died_answers_its_outcome_once_known(
    tmp_path: Path,
) -> None:
    """The process dies after the order is written, before its request answers. Once the
    saga has ended, the same request again (same Idempotency-Key) answers the order's
    outcome at once, not "still running" until the first request's time is up."""
    marker = tmp_path / "crashed"
    backend = Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
    deployed = deploy(
        backend,
        tmp_path,
        ORDERLY_CRASH_AFTER="checkout.committed",
        ORDERLY_CRASH_MARKER=str(marker),
        **SETTINGS,
    )
    try:
        customer = deployed.customer()
        sales = deployed.ordering.client(customer["token"])
        product = await create_product(deployed, unique("CRASH"), 5)
        key = {"Idempotency-Key": unique("k")}
        body = guarded(product, 2, "tok_visa")

        async def sent() -> bool:
            try:
                answer = await sales.post("/api/v1/orders", json=body, headers=key)
            except httpx.HTTPError:  # the process died under the request
                return True
            if answer.status_code == 422 and answer.json()["code"] == "unknown_product":
                return False  # ordering has not heard of the product yet: nothing was made
            raise AssertionError(f"the request was answered: {answer.status_code}")

        await eventually(sent)

        async def died() -> list[Server]:
            return [s for s in deployed.servers if s.process and s.process.poll() is not None]

        [crashed] = await eventually(died, within=30)
        assert await asyncio.to_thread(marker.exists)
        crashed.start().wait_ready()

        async def ended() -> dict[str, Any] | None:
            with contextlib.suppress(httpx.HTTPError):
                orders: list[dict[str, Any]] = (await sales.get("/api/v1/orders")).json()
                if orders and orders[0]["status"] == "PLACED":
                    return orders[0]
            return None

        order = await eventually(ended, within=30)
        # the first request's claim on the key is seconds old: it would count as still
        # running for half a minute more, but its checkout has come out
        again = await sales.post("/api/v1/orders", json=body, headers=key)
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert (again.json()["order_id"], again.json()["status"]) == (order["order_id"], "PLACED")
    finally:
        for server in deployed.servers:
            server.stop()
