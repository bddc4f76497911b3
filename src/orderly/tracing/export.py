"""Where ended spans go: to an OTLP/HTTP collector (protobuf, the format every collector
reads), to stdout as JSON lines, or to a list a test reads. `Spans` queues them as they end,
and a task on the process's event loop hands them on in batches, so that a request never
waits on the collector and no thread contends with the loop for the interpreter (a thread of
its own cost the checkout about a tenth of its rate). A server's OTLP batches are encoded and
posted by a process of its own (`forwarding`), `Otlp` here. A collector that cannot keep up
loses spans, never memory."""

import asyncio
import contextlib
import os
import sys
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, TextIO

import aiohttp
import httpx
import orjson
import structlog

from orderly.tracing import Ended, Finished
from orderly.tracing.otlp import encode

log = structlog.get_logger(__name__)

MAX_QUEUE = 4096  # spans waiting; past it a span is dropped (and counted)
BATCH = 512  # spans a request to the collector carries at most
CHUNK = 256  # spans encoded between two turns of the event loop (about a millisecond)
IN_FLIGHT = 4  # batches being encoded or sent at once
EVERY = 1.0  # seconds between batches when fewer than BATCH are waiting
RETRIES = (0.5, 1.0, 2.0)  # pauses before sending a refused batch again
PASSING = frozenset({429, 502, 503, 504})  # a collector's refusals worth another try


class Exporter(Protocol):
    def export(self, spans: Sequence[Ended], service: str) -> None:
        """Here and now: a test's spans, or what is left when the process stops."""

    async def send(self, spans: Sequence[Ended], service: str) -> None:
        """From the event loop, never blocking it for long."""

    async def close(self) -> None:
        """What `send` holds open, as the event loop stops."""

    def shutdown(self) -> None: ...


class Spans:
    """The spans ended in this process, on their way to `exporter`."""

    def __init__(
        self, exporter: Exporter, service: str, *, batch: bool, every: float = EVERY
    ) -> None:
        self.exporter = exporter
        self.service = service
        self.batch = batch
        self.every = every
        self.dropped = 0
        self._queue: deque[Ended] = deque()
        self._task: asyncio.Task[None] | None = None
        self._full = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()  # batches on their way
        self._thread = 0  # the event loop's, once the task runs

    def ended(self, span: Ended) -> None:
        if not self.batch:
            self.exporter.export([span], self.service)
            return
        queue = self._queue
        if len(queue) >= MAX_QUEUE:
            self.dropped += 1
            return
        queue.append(span)
        if self._task is None:
            self._begin()
        elif len(queue) == BATCH:
            if self._task.done():  # its event loop has stopped (a test's): a task of this one
                self._begin()
            if threading.get_ident() == self._thread:
                self._full.set()

    def _begin(self) -> None:
        """The sending task, on the event loop running here; none outside one (a command
        line's spans are sent by `shutdown`)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._full = asyncio.Event()
        self._thread = threading.get_ident()
        self._task = loop.create_task(self._run(), name="orderly-spans")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.every)
            self._full.clear()
            await self._send_queued()

    async def _send_queued(self) -> None:
        """Each batch waiting, sent by a task of its own: a collector's answer is not waited
        for before the next batch goes, only IN_FLIGHT batches are on their way at once."""
        queue = self._queue
        while queue:
            while len(self._sends) >= IN_FLIGHT:
                await asyncio.wait(self._sends, return_when=asyncio.FIRST_COMPLETED)
            spans = [queue.popleft() for _ in range(min(len(queue), BATCH))]
            sending = asyncio.get_running_loop().create_task(self._send(spans))
            self._sends.add(sending)
            sending.add_done_callback(self._sends.discard)
        self._count_dropped()

    async def _send(self, spans: list[Ended]) -> None:
        try:
            await self.exporter.send(spans, self.service)
        except Exception as error:  # a span is never worth a request
            log.warning("spans_not_exported", spans=len(spans), error=repr(error))

    def _count_dropped(self) -> None:
        if self.dropped:
            log.warning("spans_dropped", spans=self.dropped, waiting_at_most=MAX_QUEUE)
            self.dropped = 0

    async def drain(self) -> None:
        """Stop the task, and send what is waiting (as the process stops)."""
        await self._stop_task()
        await self._send_queued()
        if self._sends:
            await asyncio.wait(self._sends)
        await self.exporter.close()

    async def _stop_task(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def shutdown(self) -> None:
        """Send what is waiting, here and now, and trace nothing more."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        queue = self._queue
        while queue:
            spans = [queue.popleft() for _ in range(min(len(queue), BATCH))]
            try:
                self.exporter.export(spans, self.service)
            except Exception as error:
                log.warning("spans_not_exported", spans=len(spans), error=repr(error))
        self._count_dropped()
        self.exporter.shutdown()


def for_mode(mode: str, otlp_endpoint: str) -> Exporter:
    if mode == "console":
        return Console(sys.stdout)
    if mode == "otlp":  # encoded and sent by a process of its own (`forwarding`)
        from orderly.tracing.forwarding import Forwarding

        return Forwarding(otlp_endpoint or _default_endpoint(), _default_headers())
    raise ValueError(f"unknown tracing mode {mode!r}")


def _default_endpoint() -> str:
    """OpenTelemetry's own variables, as its exporters read them."""
    if found := os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return found
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    return base.rstrip("/") + "/v1/traces"


def _default_headers() -> dict[str, str]:
    """`OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`: `key=value` pairs, comma separated, URL-encoded
    (a collector's API key)."""
    text = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS", os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
    )
    pairs = (part.split("=", 1) for part in text.split(",") if "=" in part)
    return {urllib.parse.unquote(k).strip(): urllib.parse.unquote(v).strip() for k, v in pairs}


class Otlp:
    """OTLP over HTTP, protobuf-encoded: `POST <endpoint>` of an ExportTraceServiceRequest,
    over a connection kept open. A batch refused for a reason that passes (429, 502, 503,
    504, a connection lost) is sent again after a pause, then given up."""

    def __init__(self, endpoint: str, headers: dict[str, str], timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.headers = {**headers, "Content-Type": "application/x-protobuf"}
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, spans: Sequence[Ended], service: str) -> None:
        parts = []
        for at in range(0, len(spans), CHUNK):  # a request's turn comes between two chunks
            parts.append(encode(spans[at : at + CHUNK], service))
            await asyncio.sleep(0)
        body = b"".join(parts)  # protobuf: the requests' spans, one request
        session = self._session_here()
        for pause in (*RETRIES, None):
            try:
                async with session.post(self.endpoint, data=body, headers=self.headers) as answer:
                    await answer.read()
                    status = answer.status
            except aiohttp.ClientError:
                if pause is None:
                    raise
            else:
                if _sent(status, last=pause is None):
                    return
            await asyncio.sleep(pause or 0)

    def export(self, spans: Sequence[Ended], service: str) -> None:
        body = encode(spans, service)
        with httpx.Client(timeout=self.timeout) as client:
            for pause in (*RETRIES, None):
                try:
                    answer = client.post(self.endpoint, content=body, headers=self.headers)
                except httpx.TransportError:
                    if pause is None:
                        raise
                else:
                    if _sent(answer.status_code, last=pause is None):
                        return
                time.sleep(pause or 0)

    def _session_here(self) -> aiohttp.ClientSession:
        """A session of the event loop running here (aiohttp: a tenth of httpx's CPU a
        request; a test may run several loops in turn)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._loop = None

    def shutdown(self) -> None:
        self._session = self._loop = None


def _sent(status: int, *, last: bool) -> bool:
    """Whether a batch the collector answered `status` to is done with; a refusal that will
    not pass, or the last try's, is an error."""
    if status < 300:
        return True
    if status not in PASSING or last:
        raise RuntimeError(f"the collector answered {status}")
    return False


class AtOnce:
    """An exporter that writes where it is, at once: from the event loop as from anywhere."""

    def export(self, spans: Sequence[Ended], service: str) -> None:
        raise NotImplementedError

    async def send(self, spans: Sequence[Ended], service: str) -> None:
        self.export(spans, service)

    async def close(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


class Console(AtOnce):
    """One JSON object a line per span, for development (as the logs are)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def export(self, spans: Sequence[Ended], service: str) -> None:
        lines = [
            orjson.dumps(as_json(Finished._make(span), service)).decode() + "\n" for span in spans
        ]
        self.out.write("".join(lines))
        self.out.flush()


def as_json(span: Finished, service: str) -> dict[str, object]:
    return {
        "name": span.name,
        "context": {
            "trace_id": f"0x{span.trace_id:032x}",
            "span_id": f"0x{span.span_id:016x}",
            "trace_state": span.tracestate,
        },
        "kind": span.kind,
        "parent_id": f"0x{span.parent_id:016x}" if span.parent_id else None,
        "start_time": _iso(span.start_ns),
        "end_time": _iso(span.end_ns),
        "status": {
            "code": "ERROR" if span.error is not None else "UNSET",
            "description": span.error,
        },
        "attributes": dict(span.attributes),
        "events": [
            {"name": name, "timestamp": _iso(at), "attributes": dict(values)}
            for name, at, values in span.events
        ],
        "resource": {"attributes": {"service.name": service}},
    }


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


class InMemory(AtOnce):
    """The spans exported, kept in order, for tests to read."""

    def __init__(self) -> None:
        self.spans: list[Finished] = []

    def export(self, spans: Sequence[Ended], service: str) -> None:
        self.spans.extend(map(Finished._make, spans))

    def clear(self) -> None:
        self.spans.clear()
