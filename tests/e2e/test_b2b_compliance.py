"""Compliance in the B2B checkout (pharma rules §2, §3, §6), through HTTP: DEA registration,
CSOS-signed Schedule II orders, the ship-to, licensed distribution centres, suspicious order
monitoring with its analyst's release or report, and an approval that never comes. The
rules do not depend on the runtime mode: one embedded deployment."""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.csos import purchaser
from tests.e2e.b2b import (
    DEA_NUMBER,
    REGISTERED,
    Pharmacy,
    World,
    atp,
    b2b_world,
    decisions,
    order,
    pharmacy,
    product,
    settled,
)
from tests.e2e.test_checkout_b2b import _no_first_order_hold, _threshold
from tests.waiting import eventually


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with b2b_world("embedded", tmp_path_factory.mktemp("b2b-compliance")) as running:
        yield running


class Line:
    def __init__(self, product_id: str, quantity: int) -> None:
        self.product_id, self.quantity = product_id, quantity


async def failed_at_compliance(ph: Pharmacy, order_id: str) -> dict[str, str]:
    done = await settled(ph.buyer, order_id)
    assert done["status"] == "FAILED", done
    assert done["failure"]["step"] == "compliance", done["failure"]
    failure: dict[str, str] = done["failure"]
    return failure


async def with_certificate(world: World, ph: Pharmacy, pem: str) -> None:
    admin = world.deployed.identity.client(ph.admin_token)
    path = f"/api/v1/accounts/{ph.account_id}/csos-certificate"
    answer = await admin.put(path, json={"certificate": pem})
    assert answer.status_code == 200, answer.text


async def test_a_csos_signed_schedule_ii_order_is_confirmed(world: World) -> None:
    ph = pharmacy(world)
    await _no_first_order_hold(world, ph)
    signer = purchaser()
    await with_certificate(world, ph, signer.certificate_pem)
    pid = await product(world, schedule="CII", stock=20)
    signature = signer.sign("26X000123", DEA_NUMBER, [Line(pid, 2)])

    csos = {"order_number": "26X000123", "signature": signature}
    sent = await order(ph, [(pid, 2)], csos=csos)
    done = await settled(ph.buyer, sent["order_id"])
    assert done["status"] == "CONFIRMED", done
    assert await atp(world, pid) == 18


async def test_defective_dea_and_csos_orders_are_rejected_with_a_reason_to_read(
    world: World,
) -> None:
    ph = pharmacy(world)
    await _no_first_order_hold(world, ph)
    signer = purchaser()
    await with_certificate(world, ph, signer.certificate_pem)
    cii = await product(world, schedule="CII", stock=20)
    civ = await product(world, schedule="CIV", stock=20)

    # no signature at all
    missing = (await order(ph, [(cii, 1)]))["order_id"]
    assert (await failed_at_compliance(ph, missing))["reason"] == "csos_signature_missing"
    # signed for one unit, sent for two: tampered, never corrected
    signed = signer.sign("26X000124", DEA_NUMBER, [Line(cii, 1)])
    tampered = await order(ph, [(cii, 2)], csos={"order_number": "26X000124", "signature": signed})
    failure = await failed_at_compliance(ph, tampered["order_id"])
    assert failure["reason"] == "csos_signature_invalid"
    # signed with a key the account never registered
    stranger = purchaser().sign("26X000125", DEA_NUMBER, [Line(cii, 1)])
    forged = await order(ph, [(cii, 1)], csos={"order_number": "26X000125", "signature": stranger})
    assert (await failed_at_compliance(ph, forged["order_id"]))["reason"] == (
        "csos_signature_invalid"
    )
    # shipped elsewhere than the registered location
    elsewhere = {**REGISTERED, "city": "Pittsburgh", "postal_code": "15201"}
    moved = await order(ph, [(civ, 1)], shipping_address=elsewhere)
    failure = await failed_at_compliance(ph, moved["order_id"])
    assert failure["reason"] == "ship_to_not_registered"
    assert failure["detail"]
    assert await atp(world, civ) == 20
    for order_id in (missing, tampered["order_id"], moved["order_id"]):
        rejected = await decisions(world, order_id)
        assert [d["decision"] for d in rejected] == ["rejected"]


async def test_an_expired_registration_and_an_uncovered_schedule_are_rejected(
    world: World,
) -> None:
    narrow = pharmacy(world, "--dea-schedules", "4,5")
    await _no_first_order_hold(world, narrow)
    ciii = await product(world, schedule="CIII", stock=10)
    uncovered = (await order(narrow, [(ciii, 1)]))["order_id"]
    assert (await failed_at_compliance(narrow, uncovered))["reason"] == "schedule_not_covered"

    lapsed = pharmacy(world)
    await _no_first_order_hold(world, lapsed)
    civ = await product(world, schedule="CIV", stock=10)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    operator = world.ops(world.deployed.identity)
    changed = await operator.patch(
        f"/api/v1/accounts/{lapsed.account_id}/registration", json={"deaExpiresOn": yesterday}
    )
    assert changed.status_code == 200, changed.text

    async def refused() -> str | None:
        # compliance hears of the change through `account.updated`
        sent = (await order(lapsed, [(civ, 1)]))["order_id"]
        failure = await failed_at_compliance(lapsed, sent)
        return failure["reason"] if failure["reason"] == "dea_registration_expired" else None

    assert await eventually(refused) == "dea_registration_expired"


async def test_a_controlled_line_ships_only_from_a_dc_licensed_for_the_state(world: World) -> None:
    ph = pharmacy(world)
    await _no_first_order_hold(world, ph)
    ops = world.ops(world.deployed.inventory)
    code = f"NJ-{ph.account_id}"
    made = await ops.post(
        "/api/v1/inventory/dcs",
        json={"code": code, "name": "Newark", "dea_schedules": ["4"], "licensed_states": ["NJ"]},
    )
    assert made.status_code == 201, made.text
    civ = await product(world, schedule="CIV", stock=0)
    received = await ops.post(
        f"/api/v1/inventory/{civ}/receipts",
        json={"quantity": 10, "lot": "L1", "expires_on": "2099-01-31", "dc": code},
    )
    assert received.status_code == 201, received.text

    sent = (await order(ph, [(civ, 2)]))["order_id"]  # shipped to PA
    done = await settled(ph.buyer, sent)

    assert done["status"] == "FAILED"
    assert (done["failure"]["step"], done["failure"]["reason"]) == ("reserve", "no_licensed_dc")
    assert "licensed" in done["failure"]["detail"]
    assert await atp(world, civ) == 10


async def monitored(world: World, ph: Pharmacy, family: str, month_to_date: int) -> None:
    """Pharma rules §3.5's worked example: six months of 2000/2200/1800/2100/1900/2000
    dosage units (a limit of 3 times 2000), and `month_to_date` this month."""
    today = date.today().replace(day=1)
    months = []
    for back, units in enumerate((2000, 2200, 1800, 2100, 1900, 2000), start=1):
        month = today
        for _ in range(back):
            month = (month - timedelta(days=1)).replace(day=1)
        months.append(
            {"family": family, "month": month.strftime("%Y-%m"), "units": units, "orders": 4}
        )
    this_month = {"family": family, "month": today.strftime("%Y-%m"), "orders": 1}
    months.append({**this_month, "units": month_to_date})
    ops = world.ops(world.deployed.compliance)
    imported = await ops.put(f"/api/v1/compliance/som/{ph.account_id}/history", json=months)
    assert imported.status_code == 204, imported.text


async def family_of(world: World, product_id: str) -> str:
    """The product's drug family; an operator tells compliance its bottles hold 100."""
    ops = world.ops(world.deployed.compliance)
    shown = (await ops.get(f"/api/v1/compliance/products/{product_id}")).json()
    family: str = shown["family"]
    body = {"serialized": True, "family": family, "units_per_package": 100}
    set_up = await ops.put(f"/api/v1/compliance/products/{product_id}", json=body)
    assert set_up.status_code == 200, set_up.text
    return family


async def hold_of(world: World, order_id: str) -> dict[str, str]:
    holds = (await world.ops(world.deployed.compliance).get("/api/v1/compliance/holds")).json()
    [hold] = [h for h in holds if h["order_id"] == order_id]
    found: dict[str, str] = hold
    return found


async def test_suspicious_orders_are_held_then_released_or_reported(world: World) -> None:
    civ = await product(world, schedule="CIV", stock=200)
    family = await family_of(world, civ)
    ops = world.ops(world.deployed.compliance)

    ph = pharmacy(world)
    await monitored(world, ph, family, month_to_date=3500)
    small = (await order(ph, [(civ, 1)]))["order_id"]  # 3500 + 100 units: not suspicious
    assert (await settled(ph.buyer, small))["status"] == "CONFIRMED"
    large = (await order(ph, [(civ, 30)]))["order_id"]  # 3600 + 3000 > 6000: held
    held = await settled(ph.buyer, large, "ON_HOLD")
    assert held["history"][-1]["details"]["rule"] == "som_size"
    hold = await hold_of(world, large)
    # the pharmacy cannot edit or cancel a held order: the analyst decides
    cancel = await ph.buyer.post(f"/api/v1/orders/{large}/cancel")
    assert cancel.status_code == 409, cancel.text
    released = await ops.post(
        f"/api/v1/compliance/holds/{hold['id']}/release",
        json={"note": "Called the pharmacy: a flu clinic this month, invoices on file."},
    )
    assert released.status_code == 200, released.text
    assert (await settled(ph.buyer, large))["status"] == "CONFIRMED"
    again = await ops.post(f"/api/v1/compliance/holds/{hold['id']}/report", json={"note": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "hold_already_decided")

    other = pharmacy(world)
    await monitored(world, other, family, month_to_date=3500)
    reported_id = (await order(other, [(civ, 30)]))["order_id"]
    await settled(other.buyer, reported_id, "ON_HOLD")
    hold = await hold_of(world, reported_id)
    reported = await ops.post(
        f"/api/v1/compliance/holds/{hold['id']}/report",
        json={"note": "Reported to SORS: no explanation for the volume."},
    )
    assert reported.status_code == 200, reported.text
    cancelled = await settled(other.buyer, reported_id)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["failure"]["reason"] == "suspicious_order_reported"
    trail = [d["decision"] for d in await decisions(world, reported_id)]
    assert trail[:2] == ["held", "reported"]
    assert world.erp.orders(reported_id)["count"] == 0


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A deployment whose approvers have a second to decide."""
    tmp = tmp_path_factory.mktemp("b2b-approval-timeout")
    with b2b_world("embedded", tmp, ORDERLY_APPROVAL_TIMEOUT="1") as running:
        yield running


async def test_an_order_no_approver_decides_on_fails_when_its_wait_runs_out(short: World) -> None:
    ph = pharmacy(short)
    await _threshold(short, ph, "1.00")
    pid = await product(short, stock=10)
    sent = (await order(ph, [(pid, 1)]))["order_id"]
    done = await settled(ph.buyer, sent)
    assert done["status"] == "FAILED"
    assert (done["failure"]["step"], done["failure"]["reason"]) == ("approve", "approve_timed_out")
    assert short.erp.orders(sent)["count"] == 0
    assert await atp(short, pid) == 10
