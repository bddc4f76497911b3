"""The suite's own cluster: a PostgreSQL database and a RabbitMQ namespace of its own, every
Orderly process under supervisord (`orderly cluster up`), the ERP, WMS and payment simulators,
a real SMTP server, and one replica (`inventory-2`) reaching PostgreSQL and RabbitMQ through
fault proxies. Gone afterwards: its processes, queues, exchanges and database."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from chaos.proxy import FaultProxy
from orderly.bootstrap import topology
from orderly.config import ALL_CONTEXTS, BFFS, load_settings
from orderly.entrypoints.cluster import supervisor
from orderly.entrypoints.cluster.plan import Cluster, load
from orderly.messaging.transports.rabbitmq import delete_topology
from tests.services import AMQP_URL, create_pg_database, drop_pg_database, unique
from tests.smtp import SmtpServer, free_port

# the replica whose links to the database and the broker the suite degrades
PROXIED = "inventory-2"

# what each mode adds to every Orderly process's settings
MODES = {
    # processes killed, services restarted, simulators and links degraded
    "faults": {},
    # every message handed back to the broker once after it was handled and committed
    "redeliver": {"ORDERLY_REDELIVER_ALL": "true"},
    # processes exit between a commit and its publish, after a publish before the relay
    # marks it sent, after a consumer commits before it acknowledges, and after a checkout
    # commits before it answers
    "crash": {
        "ORDERLY_CRASH_CHANCE": (
            "relay.claimed=0.01,relay.published=0.01,after:*=0.002,checkout.committed=0.01"
        )
    },
}
# all at once: the scheduled faults, every message delivered twice, and the crashes
MODES["all"] = {**MODES["redeliver"], **MODES["crash"]}


@dataclass
class Deployment:
    cluster: Cluster
    config: Path
    ports: dict[str, int]  # by process name
    database_url: str
    smtp: SmtpServer
    proxies: dict[str, FaultProxy]  # "database" and "broker", both of PROXIED's links
    # how `orderly cluster down` went, once the deployment is gone: whether it succeeded,
    # and the processes still running after it
    down: dict[str, object] = field(default_factory=dict)

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"

    def process_at(self, url: str) -> str:
        """The process that serves `url` (by its port), as a run's record names it."""
        port = urlsplit(url).port
        return next((name for name, at in self.ports.items() if at == port), url)

    @property
    def orderly_processes(self) -> list[str]:
        """Every process that is Orderly's (the simulators are the outside world's)."""
        return [p.name for p in self.cluster.processes if p.context]

    @property
    def env(self) -> dict[str, str]:
        """The cluster's settings, for a command run against it (`orderly demo load`)."""
        return {**os.environ, **self.cluster.shared}


def _config(
    database_url: str,
    namespace: str,
    ports: dict[str, int],
    replicas: dict[str, int],
    simulators: dict[str, int],
    extra: dict[str, str],
    proxied: dict[str, str],
) -> str:
    def table(name: str, values: dict[str, str]) -> str:
        return f"[{name}]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in values.items())

    names = [*ports, *(f"{context}-2" for context in replicas), *(f"{s}-sim" for s in simulators)]
    settings = "".join(
        table(f'env."{name}"', {**extra, **(proxied if name == PROXIED else {})}) for name in names
    )
    return (
        f'[cluster]\ndatabase_url = "{database_url}"\nbroker_url = "{AMQP_URL}"\n'
        f'namespace = "{namespace}"\nhost = "127.0.0.1"\n'
        "[ports]\n"
        + "".join(f'"{name}" = {port}\n' for name, port in ports.items())
        + "[replicas]\n"
        + "".join(f'"{name}" = [{port}]\n' for name, port in replicas.items())
        + "[simulators]\n"
        + "".join(f'"{name}" = {port}\n' for name, port in simulators.items())
        + settings
    )


def _orderly(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderly", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@asynccontextmanager
async def deployed(
    home: Path, mode: str, seed: int, *, keep: bool = False
) -> AsyncIterator[Deployment]:
    """The deployment; with `keep`, its database is left behind for an engineer to query."""
    database_url = await create_pg_database()
    namespace = unique("chaos")
    ports = {name: free_port() for name in (*ALL_CONTEXTS, *BFFS)}
    replicas = {"ordering": free_port(), "inventory": free_port()}
    simulators = {"erp": free_port(), "wms": free_port(), "payments": free_port()}
    smtp = SmtpServer()
    proxies = {
        "database": FaultProxy(free_port(), ("127.0.0.1", 5432), seed=seed),
        "broker": FaultProxy(free_port(), ("127.0.0.1", 5672), seed=seed + 1),
    }
    database = database_url.rsplit("/", 1)[1]
    proxied = {
        "ORDERLY_DATABASE_URL": (
            f"postgresql://postgres@127.0.0.1:{proxies['database'].listen_port}/{database}"
        ),
        "ORDERLY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{proxies['broker'].listen_port}/",
    }
    extra = {
        "ORDERLY_SMTP_URL": smtp.url,
        # an ERP that does not answer is given up on within seconds, and tried again
        "ORDERLY_ERP_TIMEOUT": "2",
        **MODES[mode],
    }
    if "ORDERLY_CRASH_CHANCE" in extra:
        # the chances are drawn by each process on its own, so a short run may draw none: the
        # first checkout to commit crashes its process all the same, once per deployment
        extra["ORDERLY_CRASH_AFTER"] = "checkout.committed"
        extra["ORDERLY_CRASH_MARKER"] = str(home / "crashed-once")
    config = home / "cluster.toml"
    config.write_text(_config(database_url, namespace, ports, replicas, simulators, extra, proxied))
    cluster = load(config, home / "home")
    all_ports = {
        **ports,
        **{f"{name}-2": port for name, port in replicas.items()},
        **{f"{name}-sim": port for name, port in simulators.items()},
    }
    await smtp.start()
    for proxy in proxies.values():
        await proxy.start()
    deployment = Deployment(cluster, config, all_ports, database_url, smtp, proxies)
    where = ("--config", str(config), "--home", str(cluster.home))
    try:
        up = await asyncio.to_thread(_orderly, "cluster", "up", *where, env=dict(os.environ))
        if up.returncode != 0:
            raise RuntimeError(f"orderly cluster up failed:\n{up.stdout[-3000:]}{up.stderr}")
        loaded = await asyncio.to_thread(_orderly, "demo", "load", env=deployment.env)
        if loaded.returncode != 0:
            raise RuntimeError(f"orderly demo load failed:\n{loaded.stderr[-3000:]}")
        yield deployment
    finally:
        if supervisor.running(cluster.home):
            pids = [int(row["pid"]) for row in supervisor.processes(cluster.home) if row["pid"]]
            down = await asyncio.to_thread(
                _orderly, "cluster", "down", *where, env=dict(os.environ)
            )
            if supervisor.running(cluster.home):  # down failed: stopped all the same
                await asyncio.to_thread(supervisor.stop, cluster.home)
            deployment.down = {
                "succeeded": down.returncode == 0,
                "left_running": _alive(pids),
            }
        for proxy in proxies.values():
            await proxy.stop()
        await smtp.stop()
        wired = topology(load_settings(cluster.shared))
        await delete_topology(AMQP_URL, namespace, wired)
        if keep:
            print(f"the database is kept: {database_url}")
        else:
            await drop_pg_database(database_url)


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


async def status(deployment: Deployment) -> dict[str, int]:
    """What `orderly cluster status` shows: how many processes, running, ready."""
    home = deployment.cluster.home
    where = ("--config", str(deployment.config), "--home", str(home))
    shown = await asyncio.to_thread(_orderly, "cluster", "status", *where, env=dict(os.environ))
    rows = [line for line in shown.stdout.splitlines() if "│" in line and "process" not in line]
    return {
        "exit_status": shown.returncode,
        "processes": len(rows),
        "running": sum(" RUNNING " in row for row in rows),
        "ready": sum(" ready " in row for row in rows),
    }


async def healthy(deployment: Deployment, within: float) -> list[str]:
    """Wait until every process is running and ready again; those that are not, at the end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            waiting = []
            for process in deployment.cluster.processes:
                path = "/health/ready" if process.context else "/health"
                try:
                    answer = await http.get(deployment.url(process.name) + path)
                    if answer.status_code != 200:
                        waiting.append(process.name)
                except httpx.HTTPError:
                    waiting.append(process.name)
            if not waiting or loop.time() > deadline:
                return waiting
            await asyncio.sleep(0.5)
