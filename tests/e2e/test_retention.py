"""Data retention by seed 004's policy, in both modes: `orderly retention run` archives the
orders that ended seven years ago to a compressed file and removes them, the history's events
past 30 days and the mail log's mails past their time; nothing kept by a legal hold (placed on
an order or an account) or by a suspicious order reported to the DEA goes. A dry run only says
what would go; the projections rebuilt afterwards are still the live ones."""

import asyncio
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests import forkserver
from tests.e2e.b2b import Pharmacy, World, b2b_world, order, pharmacy, product, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.server import embedded
from tests.e2e.test_b2b_compliance import family_of, hold_of, monitored
from tests.waiting import eventually

EIGHT_YEARS_ON = (datetime.now(UTC) + timedelta(days=8 * 366)).date().isoformat()


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with b2b_world(request.param, tmp_path_factory.mktemp("retention")) as running:
        yield running


def retention(world: World, archive: Path, *args: str) -> dict[str, Any]:
    """`orderly retention run --json` with ordering's configuration, over the four databases
    it works in (a service's process has one): mails kept a year, archives written to
    `archive`."""
    env = {
        **world.deployed.ordering.env,
        "ORDERLY_RETENTION_ARCHIVE_DIR": str(archive),
        "ORDERLY_RETENTION_MAILS_DAYS": "365",
    }
    if "ORDERLY_CONTEXTS" in env:
        env["ORDERLY_CONTEXTS"] = "ordering,compliance,history,notifications"
    ran = forkserver.orderly(["retention", "run", "--json", *args], env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    report: dict[str, Any] = json.loads(ran.stdout)
    return report


def files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def rebuilt(world: World) -> list[int]:
    differences = []
    for name in ("orders", "analytics"):
        result = world.deployed.history.cli("projections", "rebuild", name, "--json")
        assert result.returncode == 0, result.stderr
        differences.append(json.loads(result.stdout)["differences"])
    return differences


async def cancelled(pharmacy: Pharmacy, product_id: str) -> str:
    """A confirmed order of the pharmacy's, cancelled before it shipped."""
    buyer = pharmacy.buyer
    ph_order = (await order(pharmacy, [(product_id, 1)]))["order_id"]
    assert (await settled(buyer, ph_order))["status"] == "CONFIRMED"
    undone = await buyer.post(f"/api/v1/orders/{ph_order}/cancel")
    assert undone.status_code == 200, undone.text
    await settled(buyer, ph_order, "CANCELLED")
    return ph_order


async def mails_of(world: World, order_id: str) -> list[dict[str, Any]]:
    notifications = world.ops(world.deployed.notifications)
    answer = await notifications.get("/api/v1/notifications/mails", params={"order_id": order_id})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def events_status(world: World, order_id: str) -> int:
    history = world.ops(world.deployed.history)
    return (await history.get(f"/api/v1/orders/{order_id}/events")).status_code


async def test_legal_holds_are_placed_listed_and_lifted_by_operators(world: World) -> None:
    ops = world.ops(world.deployed.compliance)
    placed = await ops.post(
        "/api/v1/compliance/legal-holds",
        json={"order_id": "ord-disputed", "kind": "dispute", "reason": "Chargeback 4411"},
    )
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["order_id"], hold["account_id"], hold["lifted_at"]) == ("ord-disputed", None, None)
    listed = (await ops.get("/api/v1/compliance/legal-holds")).json()
    assert hold["id"] in [h["id"] for h in listed]

    nothing = await ops.post(
        "/api/v1/compliance/legal-holds", json={"kind": "dispute", "reason": "which?"}
    )
    assert (nothing.status_code, nothing.json()["code"]) == (422, "legal_hold_names_nothing")
    odd = await ops.post(
        "/api/v1/compliance/legal-holds",
        json={"order_id": "x", "kind": "whim", "reason": "no"},
    )
    assert odd.status_code == 422, odd.text
    customer = world.deployed.compliance.client(world.deployed.customer()["token"])
    barred = await customer.post(
        "/api/v1/compliance/legal-holds",
        json={"order_id": "x", "kind": "dispute", "reason": "mine"},
    )
    # to anyone but an operator, the operators' routes are not there
    assert barred.status_code == 404, barred.text
    assert (await customer.get("/api/v1/compliance/legal-holds")).status_code == 404

    lifted = await ops.post(f"/api/v1/compliance/legal-holds/{hold['id']}/lift")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["lifted_at"] is not None
    again = await ops.post(f"/api/v1/compliance/legal-holds/{hold['id']}/lift")
    assert (again.status_code, again.json()["code"]) == (409, "legal_hold_lifted")
    unknown = await ops.post("/api/v1/compliance/legal-holds/no-such-hold/lift")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "legal_hold_not_found")
    in_force = (await ops.get("/api/v1/compliance/legal-holds")).json()
    assert hold["id"] not in [h["id"] for h in in_force]
    every = (await ops.get("/api/v1/compliance/legal-holds", params={"in_force": "false"})).json()
    assert hold["id"] in [h["id"] for h in every]


async def test_retention_removes_what_the_policy_says_and_nothing_held(
    world: World, tmp_path: Path
) -> None:
    ops = world.ops(world.deployed.compliance)
    history = world.ops(world.deployed.history)
    generic = await product(world)

    # given a pharmacy under an account-wide legal hold, with an order cancelled
    disputed = pharmacy(world)
    kept_by_account = await cancelled(disputed, generic)
    # another with one order cancelled and nothing holding it, one cancelled under a hold of
    # its own, and one confirmed and still open
    ph = pharmacy(world)
    removable = await cancelled(ph, generic)
    kept_by_order = await cancelled(ph, generic)
    still_open = (await order(ph, [(generic, 1)]))["order_id"]
    assert (await settled(ph.buyer, still_open))["status"] == "CONFIRMED"
    # and a third whose suspicious order was reported to the DEA, and so cancelled
    civ = await product(world, schedule="CIV", stock=200)
    family = await family_of(world, civ)
    reporting = pharmacy(world)
    await monitored(world, reporting, family, month_to_date=3500)
    reported = (await order(reporting, [(civ, 30)]))["order_id"]
    await settled(reporting.buyer, reported, "ON_HOLD")
    som_hold = await hold_of(world, reported)
    told = await ops.post(
        f"/api/v1/compliance/holds/{som_hold['id']}/report", json={"note": "Reported to SORS."}
    )
    assert told.status_code == 200, told.text
    await settled(reporting.buyer, reported, "CANCELLED")

    holds = []
    for body in (
        {"account_id": disputed.account_id, "kind": "litigation", "reason": "Case 2026-118"},
        {"order_id": kept_by_order, "kind": "dispute", "reason": "Chargeback 5521"},
    ):
        placed = await ops.post("/api/v1/compliance/legal-holds", json=body)
        assert placed.status_code == 201, placed.text
        holds.append(placed.json()["id"])
    every = (kept_by_account, removable, kept_by_order, still_open, reported)

    async def recorded() -> bool:  # the history has heard of each order's last move
        for order_id in every:
            answer = await history.get(f"/api/v1/orders/{order_id}/events")
            if answer.status_code != 200:
                return False
        rows = (await history.get("/api/v1/reports/orders", params={"limit": 10_000})).json()
        statuses = {row["order_id"]: row["status"] for row in rows}
        return all(
            statuses.get(o) == ("CONFIRMED" if o == still_open else "CANCELLED") for o in every
        )

    await eventually(recorded, within=30)
    assert await mails_of(world, removable)
    kept_mails = {o: await mails_of(world, o) for o in (kept_by_account, kept_by_order, reported)}
    assert kept_mails[kept_by_account]
    assert kept_mails[kept_by_order]
    daily_before = (await history.get("/api/v1/reports/daily")).json()

    # a dry run, seven years on and more, says what would go and changes nothing
    dry = retention(world, tmp_path, "--dry-run", "--as-of", EIGHT_YEARS_ON)
    assert (dry["dry_run"], dry["orders_due"], dry["orders_held"]) == (True, 4, 3)
    assert (dry["orders_removed"], dry["events_removed"], dry["mails_removed"]) == (0, 0, 0)
    assert dry["archive"] is None
    assert dry["events_due"] > 0
    assert dry["mails_due"] > 0
    assert (await ph.buyer.get(f"/api/v1/orders/{removable}")).status_code == 200
    assert await events_status(world, removable) == 200
    assert not files(tmp_path)

    # the run archives the one ended order nothing holds, then removes it
    ran = retention(world, tmp_path, "--as-of", EIGHT_YEARS_ON)
    assert (ran["orders_due"], ran["orders_held"], ran["orders_removed"]) == (4, 3, 1)
    assert ran["events_removed"] == dry["events_due"]
    assert ran["mails_removed"] >= 1
    archive = Path(ran["archive"])
    assert archive.parent == tmp_path
    assert mode(archive) == 0o600  # names and addresses: its owner's alone
    with gzip.open(archive, "rb") as packed:
        archived = [orjson.loads(line) for line in packed]
    assert [record["order"]["id"] for record in archived] == [removable]
    [line] = archived[0]["items"]
    assert (line["product_id"], line["quantity"]) == (generic, 1)
    assert [s["id"] for s in archived[0]["sagas"]] == [removable]
    assert archived[0]["history"]

    gone = await ph.buyer.get(f"/api/v1/orders/{removable}")
    assert (gone.status_code, gone.json()["code"]) == (404, "order_not_found")
    assert await events_status(world, removable) == 404
    assert await mails_of(world, removable) == []
    for order_id, buyer in (
        (kept_by_account, disputed.buyer),
        (kept_by_order, ph.buyer),
        (reported, reporting.buyer),
    ):
        assert (await buyer.get(f"/api/v1/orders/{order_id}")).status_code == 200
        assert await events_status(world, order_id) == 200, order_id
        assert await mails_of(world, order_id) == kept_mails[order_id], order_id
    # an open order stays, whatever its age; its events, quiet that long, went, and the
    # order view keeps what they said
    assert (await ph.buyer.get(f"/api/v1/orders/{still_open}")).status_code == 200
    assert await events_status(world, still_open) == 404
    rows = (await history.get("/api/v1/reports/orders", params={"limit": 10_000})).json()
    statuses = {row["order_id"]: row["status"] for row in rows}
    assert removable not in statuses
    assert statuses[still_open] == "CONFIRMED"
    # the day's figures still count every order, and the projections rebuilt from what the
    # history keeps are the live ones
    assert (await history.get("/api/v1/reports/daily")).json() == daily_before
    assert rebuilt(world) == [0, 0]

    # once the holds are lifted, the next run removes what they kept, but not the reported
    # order: its investigation is still open
    for hold_id in holds:
        lifted = await ops.post(f"/api/v1/compliance/legal-holds/{hold_id}/lift")
        assert lifted.status_code == 200, lifted.text
    after = retention(world, tmp_path, "--as-of", EIGHT_YEARS_ON)
    assert (after["orders_due"], after["orders_held"], after["orders_removed"]) == (3, 1, 2)
    # the same moment's archive, added to
    assert after["archive"] == ran["archive"]
    assert files(tmp_path) == [archive]
    with gzip.open(archive, "rb") as packed:
        archived = [orjson.loads(line) for line in packed]
    assert [record["order"]["id"] for record in archived] == [
        removable,
        *sorted((kept_by_account, kept_by_order)),
    ]
    for order_id, buyer in ((kept_by_account, disputed.buyer), (kept_by_order, ph.buyer)):
        assert (await buyer.get(f"/api/v1/orders/{order_id}")).status_code == 404
        assert await mails_of(world, order_id) == []
    assert (await reporting.buyer.get(f"/api/v1/orders/{reported}")).status_code == 200
    assert (await ph.buyer.get(f"/api/v1/orders/{still_open}")).status_code == 200
    assert (await history.get("/api/v1/reports/daily")).json() == daily_before
    assert rebuilt(world) == [0, 0]

    # and a run now, seven years early, removes no order
    today = retention(world, tmp_path)
    assert (today["orders_due"], today["orders_removed"]) == (0, 0)


async def test_a_process_holding_every_database_concerned_runs_retention_on_its_schedule(
    tmp_path: Path,
) -> None:
    """The embedded process runs the policy every `ORDERLY_RETENTION_INTERVAL` seconds, and
    says what it did in its log."""
    with embedded(tmp_path, ORDERLY_RETENTION_INTERVAL="0.5") as server:

        async def ran() -> list[dict[str, Any]] | None:
            text = await asyncio.to_thread(server.log_path.read_text, errors="replace")
            runs = [json.loads(line) for line in text.splitlines() if '"retention ran"' in line]
            return runs if len(runs) >= 2 else None

        runs = await eventually(ran)
    assert all(run["dry_run"] is False for run in runs)
    assert all(run["orders_removed"] == run["events_removed"] == 0 for run in runs)
