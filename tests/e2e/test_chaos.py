"""The fault-injection suite at its small size, with every fault at once, against a cluster
of its own (`orderly cluster up`, `status`, `down` under supervisord): processes killed,
PostgreSQL and RabbitMQ restarted, simulators slow or failing, a replica's links degraded,
every message delivered twice and processes dying between commits and publishes. Nothing may
be lost, duplicated, oversold or stuck (`make chaos` runs each mode alone, at full size).

It restarts PostgreSQL and RabbitMQ, so it runs with the outage tests, alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos import schedule
from orderly.config import ALL_CONTEXTS, BFFS
from tests.conftest import needs_services

pytestmark = [needs_services, pytest.mark.distributed, pytest.mark.outage]

SEED = 2026  # the faults of a failed run can be played again: python -m chaos --seed 2026


def test_no_order_is_lost_duplicated_oversold_or_stuck_under_every_fault(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    command = ["--size", "small", "--mode", "all", "--seed", str(SEED), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "chaos", *command],
        env={**os.environ, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.exists(), done.stdout[-5000:] + done.stderr[-5000:]
    run = json.loads(out.read_text())["runs"][0]
    broken = {c["name"]: c["examples"] for c in run["invariants"] if c["violations"]}
    assert not broken, broken
    assert done.returncode == 0, done.stdout[-5000:]
    # the load was real, and so were the faults: each kind injected, none that could not be
    assert run["orders"]["accepted"] >= 15
    orders = run["orders"]
    assert orders["terminal"] + orders["held"] == orders["accepted"]
    assert orders["held"] >= 1  # so that "every hold visible" had holds to see
    assert set(run["faults"]["injected"]) == set(schedule.KINDS)
    assert not run["faults"]["not_injected"]
    assert run["quiet_after_seconds"] >= 0
    # processes killed or crashed were started again by supervisord: `orderly cluster status`
    # shows every one running and ready, and `orderly cluster down` stops every one
    assert run["process_exits"]["killed"] >= 3
    assert run["process_exits"]["crashed"] >= 1
    status = run["cluster_status"]
    assert status["exit_status"] == 0
    # every context, both BFFs, the two replicas and the three simulators
    planned = len(ALL_CONTEXTS) + len(BFFS) + 2 + 3
    assert run["planned_processes"] == planned
    assert status["processes"] == status["running"] == status["ready"] == planned
    assert run["cluster_down"] == {"succeeded": True, "left_running": []}
    assert run["duplicates_dropped"] > 0  # every message was delivered twice
