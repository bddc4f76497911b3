"""Catalog search latency on the FDA NDC directory (243,941 packages), over HTTP, once the
import's messages have been delivered.

One client, one request at a time, a mix of identifiers (NDC in three forms, GTIN, a scanned
GS1 string) and words (one, two, prefixes, a miss); beside GET /health on the same server,
measured the same way in the same run."""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.server import Server

QUERIES = [
    "0054-0390-41",
    "00054039041",
    "00300540390419",
    "(01)00300540390419(17)271231(10)LOT1",
    "oxycodone",
    "lisinopril 10",
    "amox",
    "ibuprofen tablet",
    "atorvastatin calcium",
    "oral solution",
    "metformin hydrochloride extended",
    "zzzz",
]


def _latencies(
    client: httpx.Client, path: str, params: list[dict[str, str]], rounds: int
) -> list[float]:
    taken = []
    for _ in range(rounds):
        for p in params:
            started = time.perf_counter()
            response = client.get(path, params=p)
            taken.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return taken


def _settled(client: httpx.Client, within: float = 900) -> None:
    """Wait until the directory's product.created messages are all delivered (inventory and
    pricing have caught up): search is measured on a server at rest, not mid-import."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        outbox = client.get("/api/v1/admin/outbox").json()
        if all(row["pending"] == 0 for row in outbox):
            return
        time.sleep(1)
    raise RuntimeError("the outbox did not drain")


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def latency(rounds: int = 40) -> dict[str, float]:
    """{search_p50, search_p99, health_p50, health_p99} in milliseconds."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "ORDERLY_DATABASE_URL": f"sqlite:///{tmp}/var",
            "ORDERLY_BROKER_URL": "",
            "ORDERLY_LOG_LEVEL": "WARNING",
        }
        server = Server(env, Path(tmp))
        loaded = subprocess.run(
            [sys.executable, "-m", "orderly", "demo", "load", "--catalog", "fda"],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if loaded.returncode != 0:
            raise RuntimeError(loaded.stderr)
        server.create_operator()
        server.start().wait_ready(timeout=120)
        try:
            token = server.login()
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                _settled(client)
                _latencies(client, "/api/v1/products", [{"q": q} for q in QUERIES], 2)  # warm
                search = _latencies(client, "/api/v1/products", [{"q": q} for q in QUERIES], rounds)
                health = _latencies(client, "/health", [{}] * len(QUERIES), rounds)
        finally:
            server.stop()
    return {
        "search_p50": statistics.median(search),
        "search_p99": _p(search, 99),
        "health_p50": statistics.median(health),
        "health_p99": _p(health, 99),
    }
