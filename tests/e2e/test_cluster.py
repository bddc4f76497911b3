"""`orderly cluster up|status|down`: every context, the BFFs, a replica and the simulators under
supervisord, from one config file; a process killed is restarted and the cluster still takes
orders; down stops every process. Its own database and broker namespace."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orderly.bootstrap import topology
from orderly.config import ALL_CONTEXTS, BFFS, load_settings
from orderly.entrypoints.cluster import supervisor
from orderly.entrypoints.cluster.plan import load
from orderly.messaging.transports.rabbitmq import delete_topology
from tests.conftest import needs_services
from tests.e2e.server import free_port
from tests.e2e.test_seed001_flow import ADDRESS
from tests.services import AMQP_URL, create_pg_database, drop_pg_database, unique
from tests.waiting import eventually

pytestmark = [needs_services, pytest.mark.distributed]


def orderly(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderly", *args],
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, Path, dict[str, int]]]:
    tmp = tmp_path_factory.mktemp("cluster")
    url = asyncio.run(create_pg_database())
    ports = {name: free_port() for name in (*ALL_CONTEXTS, *BFFS)}
    config = tmp / "cluster.toml"
    config.write_text(
        "[cluster]\n"
        f'database_url = "{url}"\nbroker_url = "{AMQP_URL}"\n'
        f'namespace = "{unique("cl")}"\nhost = "127.0.0.1"\n'
        "[ports]\n"
        + "".join(f'"{name}" = {port}\n' for name, port in ports.items())
        + f"[replicas]\nordering = [{free_port()}]\n"
        f"[simulators]\nerp = {free_port()}\nwms = {free_port()}\n"
    )
    home = tmp / "home"
    try:
        yield config, home, ports
    finally:
        if supervisor.running(home):
            supervisor.stop(home)
        # its queues and exchanges go with it, as its database does
        plan = load(config, home)
        wired = topology(load_settings(plan.processes[0].env))
        asyncio.run(delete_topology(AMQP_URL, plan.namespace, wired))
        asyncio.run(drop_pg_database(url))


async def test_a_cluster_comes_up_heals_a_killed_process_takes_orders_and_goes_down(
    cluster: tuple[Path, Path, dict[str, int]],
) -> None:
    config, home, ports = cluster
    where = ("--config", str(config), "--home", str(home))

    # up: migrated once, every process started under supervisord, each ready
    up = await asyncio.to_thread(orderly, "cluster", "up", *where)
    assert up.returncode == 0, up.stdout + up.stderr
    running = {row["name"]: row for row in supervisor.processes(home)}
    assert set(running) == {*ports, "ordering-2", "erp-sim", "wms-sim"}
    assert {row["statename"] for row in running.values()} == {"RUNNING"}
    for name in running:
        assert name in up.stdout

    # a process killed outright is started again by supervisord, and is ready again
    killed = running["inventory"]["pid"]
    os.kill(killed, signal.SIGKILL)

    async def restarted() -> bool:
        row = next(r for r in supervisor.processes(home) if r["name"] == "inventory")
        if row["statename"] != "RUNNING" or row["pid"] == killed:
            return False
        url = f"http://127.0.0.1:{ports['inventory']}/health/ready"
        async with httpx.AsyncClient() as client:
            try:
                return (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                return False

    await eventually(restarted, within=60)

    # and the cluster takes an order across its processes: an operator's product, a
    # customer's order, the warehouse's shipment
    made = await asyncio.to_thread(
        orderly,
        *("users", "create-operator", "ops@cluster.example", "--password", "cluster keys 2026"),
        env=cluster_env(config),
    )
    assert made.returncode == 0, made.stderr
    async with httpx.AsyncClient(timeout=10) as http:
        identity = f"http://127.0.0.1:{ports['identity']}"
        login = {"email": "ops@cluster.example", "password": "cluster keys 2026"}
        token = (await http.post(f"{identity}/api/v1/auth/login", json=login)).json()["token"]
        ops = {"Authorization": f"Bearer {token}"}
        body = {"name": "Clustered", "sku": unique("CL"), "price": "3.00", "stock": 5}
        catalog = f"http://127.0.0.1:{ports['catalog']}"
        product = await http.post(f"{catalog}/api/v1/products", json=body, headers=ops)
        assert product.status_code == 201, product.text
        line = {"product_id": product.json()["id"], "quantity": 1}
        order = {"items": [line], "shipping_address": ADDRESS}
        ordering = f"http://127.0.0.1:{ports['ordering']}"

        async def placed() -> str | None:
            answer = await http.post(f"{ordering}/api/v1/orders", json=order, headers=ops)
            return str(answer.json()["order_id"]) if answer.status_code == 201 else None

        order_id = await eventually(placed, within=30)

        async def shipped() -> bool:
            found = await http.get(
                f"http://127.0.0.1:{ports['fulfillment']}/api/v1/shipments",
                params={"order_id": order_id},
                headers=ops,
            )
            return bool(found.json())

        await eventually(shipped, within=30)

    # status: each process, its state, whether it is ready, what waits in its queues
    status = await asyncio.to_thread(orderly, "cluster", "status", *where)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("RUNNING") == len(running)
    assert status.stdout.count("ready") >= len(running)

    # down: every process stopped, supervisord too
    pids = [row["pid"] for row in supervisor.processes(home)]
    down = await asyncio.to_thread(orderly, "cluster", "down", *where)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not supervisor.running(home)
    assert not still_running(pids)


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def cluster_env(config: Path) -> dict[str, str]:
    """The cluster's own settings, for a command run against it."""
    return dict(load(config, config.parent / "home").processes[0].env)
