"""A real server exporting its spans over OTLP to a collector: through the process that
encodes and posts them for it, which is started again if it dies, and which sends the last
spans as the server stops."""

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import TLS, Server, embedded
from tests.otlp import Collector, serving
from tests.waiting import eventually


@pytest.fixture
def collector() -> Iterator[Collector]:
    with serving() as made:
        yield made


def exporters(server: Server) -> set[int]:
    """The span exporter processes the server started."""
    assert server.process is not None
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server.process.pid and b"orderly.entrypoints.spans" in command:
            found.add(int(entry.name))
    return found


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def traced_call(server: Server) -> str:
    """A request under a trace of the caller's; its trace id."""
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    answer = httpx.get(f"{server.url}/health", headers=headers, verify=TLS, timeout=10)
    assert answer.status_code == 200
    return trace_id


def exported(collector: Collector, trace_id: str) -> bool:
    return any(span.trace_id.hex() == trace_id for span in collector.spans())  # type: ignore[attr-defined]


async def arrived(collector: Collector, trace_id: str) -> None:
    async def check() -> bool:
        return exported(collector, trace_id)

    await eventually(check, within=30)


async def test_spans_go_out_through_an_exporter_process_that_outlives_its_failures(
    tmp_path: Path, collector: Collector
) -> None:
    tracing = {
        "ORDERLY_TRACING": "otlp",
        "ORDERLY_OTLP_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k%3D1",
    }
    with embedded(tmp_path, **tracing) as server:
        first = traced_call(server)
        await arrived(collector, first)
        (child,) = exporters(server)
        # it sends with the collector's key, which no command line shows
        assert {headers["x-api-key"] for headers, _ in collector.requests} == {"k=1"}
        assert b"k%3D1" not in command_line(child)

        # the exporter process dies: the next batch starts another, and goes out
        os.kill(child, signal.SIGKILL)
        second = traced_call(server)
        await arrived(collector, second)
        assert exporters(server) - {child}

        # the server stops right after a request: its span still reaches the collector
        last = traced_call(server)
        server.stop()
    assert exported(collector, last)
