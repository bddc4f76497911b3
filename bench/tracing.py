"""What tracing costs a checkout: seed 002's B2C checkout (bench/checkout.py), embedded, with
tracing off, with every trace recorded and exported over OTLP/HTTP, and with a tenth of them
(`ORDERLY_TRACING_SAMPLE=0.1`), in turn on fresh servers, a few rounds, the median round's
ratios reported.

The spans go to a collector stand-in in this process (aiohttp, answering 200 to each
export, keeping the bodies and counting their spans after each run): the server pays for
its spans and their encoding and sending, as it would with a real collector, and the
figure says how many spans a checkout made.
"""

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import checkout
from tests.conftest import Backend
from tests.e2e.conftest import deploy
from tests.e2e.server import free_port
from tests.services import unique

SAMPLED = 0.1


@dataclass(frozen=True)
class Traced:
    off: checkout.Checkouts
    on: checkout.Checkouts  # every trace recorded
    sampled: checkout.Checkouts  # SAMPLED of them
    spans_per_checkout: float  # every trace recorded


class Received:
    """What the collector was sent: the requests' bodies, read (and their spans counted)
    only when asked, after a run, so that the load generator's process does not spend the
    run decoding them (a real collector is a process of its own)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.counted = 0

    def spans(self) -> int:
        for body in self.bodies:
            sent = ExportTraceServiceRequest.FromString(body)
            self.counted += sum(
                len(scoped.spans)
                for resource in sent.resource_spans
                for scoped in resource.scope_spans
            )
        self.bodies.clear()
        return self.counted


@asynccontextmanager
async def collector() -> AsyncIterator[tuple[str, Received]]:
    """An OTLP/HTTP endpoint that keeps what it is sent, unread until asked."""
    received = Received()

    async def export(request: web.Request) -> web.Response:
        received.bodies.append(await request.read())
        return web.Response(content_type="application/x-protobuf", body=b"")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", export)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/v1/traces", received
    finally:
        await runner.cleanup()


async def embedded(n: int, *, endpoint: str = "", sample: float = 1.0) -> checkout.Checkouts:
    """Checkouts with tracing off, or (`endpoint`) exported there, `sample` of them."""
    tracing = {}
    if endpoint:
        tracing = {
            "ORDERLY_TRACING": "otlp",
            "ORDERLY_OTLP_ENDPOINT": endpoint,
            "ORDERLY_TRACING_SAMPLE": str(sample),
        }
    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend("embedded", f"sqlite:///{tmp}/var", "", unique("bench"))
        deployed = deploy(
            backend, Path(tmp), ORDERLY_LOG_LEVEL="WARNING", **checkout.BENCH_POOL, **tracing
        )
        try:
            return await checkout._run(checkout._orderly(deployed), n)
        finally:
            # its spans are sent as it stops: the collector, in this process, goes on
            # answering meanwhile
            await asyncio.gather(*(asyncio.to_thread(s.stop) for s in deployed.servers))


@dataclass(frozen=True)
class Round:
    off: checkout.Checkouts
    on: checkout.Checkouts
    sampled: checkout.Checkouts


async def off_and_on(n: int, rounds: int) -> Traced:
    """Checkouts with tracing off, on, and on for a sample, one after the other, `rounds`
    times; the round whose ratio of on to off is the median. Each ratio is of two runs a
    minute apart: this host's rate drifts by a fifth over minutes, and the fastest of
    each, taken from different rounds, said more of the drift than of tracing."""
    kept: list[Round] = []
    spans = 0.0
    async with collector() as (endpoint, received):
        for _ in range(rounds):
            off = await embedded(n)
            before = received.spans()
            on = await embedded(n, endpoint=endpoint)
            # each run: a warm-up of CLIENTS checkouts, `n`, then up to `n` more at half
            # the rate
            placed = checkout.CLIENTS + n + min(n, max(int(on.rate * 10), 1))
            spans = (received.spans() - before) / placed
            sampled = await embedded(n, endpoint=endpoint, sample=SAMPLED)
            kept.append(Round(off, on, sampled))
            print(
                f"  round {len(kept)}: off {off.rate:,.0f}/s, on {on.rate:,.0f}/s"
                f" ({on.rate / off.rate:.2f}), {SAMPLED:.0%} {sampled.rate:,.0f}/s"
                f" ({sampled.rate / off.rate:.2f})",
                flush=True,
            )
    middle = sorted(kept, key=lambda r: r.on.rate / r.off.rate)[len(kept) // 2]
    return Traced(middle.off, middle.on, middle.sampled, spans)
