"""The B2B checkout's saga survives a crash at every step (seed 000).

The fault hook (`ORDERLY_CRASH_AFTER`) kills the process at one point of the saga: while a
step's transaction is open, after it committed and before its message was acknowledged,
or after the ERP made the sales order and before its answer was stored. The process is
started again, and the order must end CONFIRMED with one sales order, one reservation and
one price lock, ever; or, when the ERP fails, FAILED with every step undone.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.e2e.b2b import (
    REGISTERED,
    World,
    atp,
    decisions,
    locks,
    pharmacy,
    product,
    running_smtp,
)
from tests.e2e.conftest import deploy
from tests.e2e.server import Server
from tests.erp_sim import running_simulator
from tests.services import unique
from tests.waiting import eventually

CONFIRMED = [
    "checkout.committed",
    "compliance.check_compliance:compliance.check",
    "ordering.advance_saga_on_reply:compliance.passed",
    "inventory.reserve_on_command:inventory.reserve",
    "ordering.on_inventory_reserved:inventory.reserved",
    "pricing.lock_on_command:price.lock",
    "ordering.advance_saga_on_reply:price.locked",
    "erp.create_sales_order:erp.sales_order.create",
    "erp.called",
    "ordering.advance_saga_on_reply:erp.sales_order.created",
]
UNDONE = [
    "ordering.advance_saga_on_reply:erp.sales_order.failed",
    "pricing.void_on_command:price.lock_void",
    "ordering.advance_saga_on_reply:price.lock_voided",
    "inventory.release_on_command:inventory.release",
    "ordering.advance_saga_on_reply:inventory.released",
    "compliance.void_compliance:compliance.void",
    "ordering.advance_saga_on_reply:compliance.voided",
]


def points(steps: list[str]) -> list[str]:
    found = []
    for step in steps:
        if ":" not in step:
            found.append(step)
        else:
            found += [f"during:{step}", f"after:{step}"]
    return found


# `make test` crashes the saga at a point of each kind (a step's transaction open, committed
# and not acknowledged, the ERP called, a compensation); `make chaos` runs every point.
EVERY_CHECK = {
    "during:compliance.check_compliance:compliance.check",
    "after:pricing.lock_on_command:price.lock",
    "erp.called",
    "after:inventory.release_on_command:inventory.release",
}


def case(point: str, outcome: str) -> Any:
    chaos = () if point in EVERY_CHECK else (pytest.mark.chaos,)
    return pytest.param(point, outcome, id=point, marks=chaos)


CASES = [
    *[case(p, "CONFIRMED") for p in points(CONFIRMED)],
    *[case(p, "FAILED") for p in points(UNDONE)],
]
# An unanswered step is sent again every second, for half a minute: time for the restarted
# process to come back.
SETTINGS = {
    "ORDERLY_SAGA_STEP_TIMEOUT": "1",
    "ORDERLY_SAGA_STEP_RETRIES": "30",
    "ORDERLY_SWEEP_INTERVAL": "0.2",
    "ORDERLY_POLL_INTERVAL": "0.2",
    "ORDERLY_ERP_TIMEOUT": "1",
    "ORDERLY_ERP_RETRIES": "0",
}


@pytest.mark.parametrize(("point", "outcome"), CASES)
async def test_the_b2b_saga_survives_a_crash(tmp_path: Path, point: str, outcome: str) -> None:
    marker = tmp_path / "crashed"
    backend = Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
    with running_simulator(tmp_path) as erp, running_smtp() as mail:
        if outcome == "FAILED":
            erp.faults("error")
        deployed = deploy(
            backend,
            tmp_path,
            ORDERLY_CRASH_AFTER=point,
            ORDERLY_CRASH_MARKER=str(marker),
            ORDERLY_ERP_URL=erp.url,
            ORDERLY_SMTP_URL=mail.url,
            **SETTINGS,
        )
        try:
            world = World(deployed, erp, mail)
            await crash_and_recover(world, marker, outcome)
        finally:
            for server in deployed.servers:
                server.stop()


async def crash_and_recover(world: World, marker: Path, outcome: str) -> None:
    deployed = world.deployed
    ph = pharmacy(world)
    pid = await product(world, price="10.00", stock=20)
    body = {"items": [{"product_id": pid, "quantity": 3}], "shipping_address": REGISTERED}

    async def ordered() -> bool:
        with contextlib.suppress(httpx.HTTPError):  # the process may die before it answers
            answer = await ph.buyer.post("/api/v1/orders", json=body)
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
    buyer = deployed.ordering.client(ph.admin_token)

    async def one_order() -> list[dict[str, Any]] | None:
        with contextlib.suppress(httpx.HTTPError):
            orders: list[dict[str, Any]] = (await buyer.get("/api/v1/orders")).json()
            return orders or None
        return None

    [placed] = await eventually(one_order, within=30)
    order_id = placed["order_id"]

    async def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = (await buyer.get(f"/api/v1/orders/{order_id}")).json()
        return found if found["status"] in {"CONFIRMED", "FAILED"} else None

    final = await eventually(ended, within=60)
    assert final["status"] == outcome, final
    operator = deployed.ordering.client(deployed.operator_token)
    saga = (await operator.get(f"/api/v1/sagas/{order_id}")).json()
    made = world.erp.orders(order_id)
    passed = [d for d in await decisions(world, order_id) if not d["voided_at"]]
    if outcome == "CONFIRMED":
        assert saga["state"] == "completed"
        assert (made["count"], made["number"]) == (1, final["sales_order_number"])
        assert await atp(world, pid) == 17
        assert [lock["status"] for lock in await locks(world, order_id)] == ["locked"]
        assert [d["decision"] for d in passed] == ["passed"]
    else:

        async def undone() -> bool:
            shown = (await operator.get(f"/api/v1/sagas/{order_id}")).json()
            return bool(shown["state"] == "compensated")

        await eventually(undone, within=60)
        assert made["count"] == 0
        assert await atp(world, pid) == 20
        assert [lock["status"] for lock in await locks(world, order_id)] == ["voided"]
        assert passed == []
