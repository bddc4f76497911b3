"""The simulated card gateway (`orderly payments-sim`) in a process of its own, and what it
counts."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests import forkserver
from tests.e2e.server import TLS, free_port


@dataclass(frozen=True)
class GatewaySim:
    url: str

    def faults(self, mode: str = "ok", *, latency_ms: int = 0, times: int | None = None) -> None:
        body = {"mode": mode, "latency_ms": latency_ms, "times": times}
        httpx.post(f"{self.url}/sim/faults", json=body, timeout=5, verify=TLS).raise_for_status()

    def current_faults(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/sim/faults", timeout=5, verify=TLS)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def movements(self, reference: str | None = None) -> dict[str, Any]:
        """{movements: [{seq, kind, reference, cents, currency, key}], references: {...}}"""
        params = {"reference": reference} if reference else {}
        answer = httpx.get(f"{self.url}/sim/movements", params=params, timeout=5, verify=TLS)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found


@contextmanager
def running_gateway(log_dir: Path) -> Iterator[GatewaySim]:
    """`orderly payments-sim` on a free port, ready, stopped afterwards."""
    port = free_port()
    log = (log_dir / f"payments-sim-{port}.log").open("wb")
    args = ["payments-sim", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process: subprocess.Popen[bytes] | forkserver.Forked
    if forkserver.ENABLED:
        process = forkserver.spawn(args, env, log.fileno(), log.fileno())
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderly", *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url)
        yield GatewaySim(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(
    process: "subprocess.Popen[bytes] | forkserver.Forked", url: str, within: float = 20.0
) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(verify=TLS, timeout=1) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway simulator exited with {process.returncode}")
            try:
                if http.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"the gateway simulator did not answer within {within}s")
