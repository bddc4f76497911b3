"""The simulated card gateway (`orderly payments-sim`) in a process of its own, and what it
counts."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import TLS
from tests.simulators import serving


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
    with serving("payments-sim", log_dir) as url:
        yield GatewaySim(url)
