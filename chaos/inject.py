"""Faults made real: a process killed, a server restarted, a simulator slowed or failing, a
link degraded; each lasting one healed when its window ends. Every fault injected is counted
by its kind, and every fault is healed by `heal_all`, whatever happened."""

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from chaos.deployment import Deployment
from chaos.schedule import Fault
from orderly.entrypoints.cluster import supervisor


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=180)


def restart_rabbitmq() -> None:
    """RabbitMQ's application stopped and started again: every connection drops, the durable
    queues come back with what they held."""
    _run("rabbitmqctl", "stop_app")
    _run("rabbitmqctl", "start_app")
    _run("rabbitmqctl", "await_startup")


def postgres(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    _run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, "-m", "fast")


class Injector:
    def __init__(self, deployment: Deployment, log: list[str]) -> None:
        self.deployment = deployment
        self.injected: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()  # faults that could not be injected
        self.log = log
        self._healing: set[asyncio.Task[None]] = set()

    async def play(self, faults: list[Fault], started: float, stop: asyncio.Event) -> None:
        """Each fault at its moment after `started` (the loop's clock), until `stop`."""
        loop = asyncio.get_running_loop()
        for fault in faults:
            wait = started + fault.at - loop.time()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    return
                except TimeoutError:
                    pass
            try:
                await self.inject(fault)
            except Exception as error:
                self.failed[fault.kind] += 1
                self.log.append(f"{fault.describe()}: not injected ({error!r})")

    async def inject(self, fault: Fault) -> None:
        d = self.deployment
        self.log.append(fault.describe())
        if fault.kind == "kill":
            await asyncio.to_thread(self._kill, fault.target)
        elif fault.kind == "rabbitmq_restart":
            await asyncio.to_thread(restart_rabbitmq)
        elif fault.kind == "postgres_restart":
            await asyncio.to_thread(postgres, "restart")
        elif fault.kind in {"erp_slow", "payments_slow"}:
            await self._simulator(fault.target, {"mode": "ok", "latency_ms": 3000})
            self._later(fault.seconds, lambda: self._simulator(fault.target, {"mode": "ok"}))
        elif fault.kind in {"erp_failing", "payments_failing"}:
            await self._simulator(fault.target, {"mode": "error"})
            self._later(fault.seconds, lambda: self._simulator(fault.target, {"mode": "ok"}))
        elif fault.kind.startswith("link_"):
            proxy = d.proxies[fault.target]
            if fault.kind == "link_delay":
                proxy.delay(0.2)
            elif fault.kind == "link_loss":
                proxy.loss(0.02)
            else:
                proxy.partition(True)
            self._later(fault.seconds, lambda: self._heal_link(fault.target))
        else:
            raise ValueError(f"no such fault: {fault.kind}")
        self.injected[fault.kind] += 1

    def _kill(self, name: str) -> None:
        """kill -9 of `name` once it runs (one just restarted is given up to 30 s to)."""
        deadline = time.monotonic() + 30
        while True:
            rows = supervisor.processes(self.deployment.cluster.home)
            row = next(r for r in rows if r["name"] == name)
            if row["statename"] == "RUNNING" and row["pid"]:
                os.kill(int(row["pid"]), signal.SIGKILL)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} is {row['statename']}")
            time.sleep(0.2)  # a poll of supervisord, bounded by the deadline

    async def _simulator(self, name: str, faults: dict[str, object]) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{self.deployment.url(name)}/sim/faults", json=faults)
            answer.raise_for_status()

    async def _heal_link(self, name: str) -> None:
        self.deployment.proxies[name].heal()

    def _later(self, seconds: float, healing: Callable[[], Awaitable[None]]) -> None:
        async def heal() -> None:
            await asyncio.sleep(seconds)  # the fault's window: its length is the fault
            await healing()

        task = asyncio.create_task(heal())
        self._healing.add(task)
        task.add_done_callback(self._healing.discard)

    async def heal_all(self) -> None:
        """Every fault undone now: windows cut short, simulators well, links whole, servers up."""
        for task in list(self._healing):
            task.cancel()
        await asyncio.gather(*self._healing, return_exceptions=True)
        for proxy in self.deployment.proxies.values():
            proxy.heal()
        for simulator in ("erp-sim", "payments-sim"):
            try:
                await self._simulator(simulator, {"mode": "ok"})
            except httpx.HTTPError as error:
                self.log.append(f"{simulator} could not be healed: {error!r}")
        await asyncio.to_thread(_servers_up)


def _servers_up() -> None:
    from tests.services import broker_up, postgres_up

    if not postgres_up():
        postgres("start")
    if not broker_up():
        _run("rabbitmqctl", "start_app")
        _run("rabbitmqctl", "await_startup")
