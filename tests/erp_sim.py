"""The simulated ERP (`orderly erp-sim`) in a process of its own, and its switches."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.simulators import serving


@dataclass(frozen=True)
class Simulator:
    url: str

    def faults(self, mode: str = "ok", *, latency_ms: int = 0, times: int | None = None) -> None:
        body = {"mode": mode, "latency_ms": latency_ms, "times": times}
        httpx.post(f"{self.url}/sim/faults", json=body, timeout=5).raise_for_status()

    def orders(self, key: str) -> dict[str, Any]:
        """What the simulator made for `key`: {key, count, calls, number, request}."""
        answer = httpx.get(f"{self.url}/sim/sales-orders", params={"key": key}, timeout=5)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found


@contextmanager
def running_simulator(log_dir: Path) -> Iterator[Simulator]:
    """`orderly erp-sim` on a free port, ready, stopped afterwards."""
    with serving("erp-sim", log_dir) as url:
        yield Simulator(url)
