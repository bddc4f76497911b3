"""Where ended spans go: to an OTLP/HTTP collector (protobuf, the format every collector
reads), to stdout as JSON lines, or to a list a test reads. `Spans` queues them as they end
and a thread of its own encodes and sends them in batches, so that a request never waits
on the collector; a collector that cannot keep up loses spans, never memory."""

import http.client
import os
import sys
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TextIO

import orjson
import structlog

from orderly import __version__
from orderly.tracing import Ended, Finished, Kind, Pairs, Value

log = structlog.get_logger(__name__)

MAX_QUEUE = 4096  # spans waiting; past it a span is dropped (and counted)
BATCH = 512  # spans a request to the collector carries at most
EVERY = 1.0  # seconds between batches when fewer than BATCH are waiting
RETRIES = (0.5, 1.0, 2.0)  # pauses before sending a refused batch again
KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


class Exporter(Protocol):
    def export(self, spans: Sequence[Ended], service: str) -> None: ...

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
        self._sending = threading.Lock()  # one batch at a time: the thread's, or a flush's
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        if batch:
            self._thread = threading.Thread(target=self._run, name="orderly-spans", daemon=True)
            self._thread.start()

    def ended(self, span: Ended) -> None:
        if not self.batch:
            self.exporter.export([span], self.service)
            return
        queue = self._queue
        if len(queue) >= MAX_QUEUE:
            self.dropped += 1
            return
        queue.append(span)
        if len(queue) == BATCH:
            self._wake.set()

    def flush(self) -> None:
        """Send every span ended so far, here and now."""
        self._send_all()

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._send_all()
        self.exporter.shutdown()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.every)
            self._wake.clear()
            self._send_all()

    def _send_all(self) -> None:
        with self._sending:
            queue = self._queue
            while queue:
                spans = [queue.popleft() for _ in range(min(len(queue), BATCH))]
                try:
                    self.exporter.export(spans, self.service)
                except Exception as error:  # a span is never worth a process
                    log.warning("spans_not_exported", spans=len(spans), error=repr(error))
            if self.dropped:
                log.warning("spans_dropped", spans=self.dropped, waiting_at_most=MAX_QUEUE)
                self.dropped = 0


def for_mode(mode: str, otlp_endpoint: str) -> Exporter:
    if mode == "console":
        return Console(sys.stdout)
    if mode == "otlp":
        return Otlp(otlp_endpoint or _default_endpoint(), _default_headers())
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
    over one connection kept open. A batch refused for a reason that passes (429, 502, 503,
    504, a connection lost) is sent again after a pause, then given up."""

    def __init__(self, endpoint: str, headers: dict[str, str], timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        where = urllib.parse.urlsplit(endpoint)
        self._https = where.scheme == "https"
        self._host = where.netloc
        self._path = (where.path or "/") + (f"?{where.query}" if where.query else "")
        self.headers = {**headers, "Content-Type": "application/x-protobuf"}
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def export(self, spans: Sequence[Ended], service: str) -> None:
        body = encode(spans, service)
        for pause in (*RETRIES, None):
            try:
                status = self._post(body)
            except (OSError, http.client.HTTPException):
                self.shutdown()  # a new connection for the next try
                if pause is None:
                    raise
            else:
                if status < 300:
                    return
                if status not in (429, 502, 503, 504) or pause is None:
                    raise RuntimeError(f"the collector answered {status}")
            time.sleep(pause)

    def _post(self, body: bytes) -> int:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, timeout=self.timeout)
        self._connection.request("POST", self._path, body, self.headers)
        answer = self._connection.getresponse()
        answer.read()
        return answer.status

    def shutdown(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def encode(spans: Sequence[Ended], service: str) -> bytes:
    """An OTLP ExportTraceServiceRequest holding `spans`, of the service `service`."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _put(resource_spans.resource.attributes, (("service.name", service),))
    scoped = resource_spans.scope_spans.add()
    scoped.scope.name, scoped.scope.version = "orderly", __version__
    out = scoped.spans
    for name, kind, trace_id, span_id, parent_id, state, start, end, pairs, error, events in spans:
        made = out.add(
            trace_id=trace_id.to_bytes(16, "big"),
            span_id=span_id.to_bytes(8, "big"),
            parent_span_id=parent_id.to_bytes(8, "big") if parent_id else b"",
            trace_state=state,
            name=name,
            kind=KINDS[kind],
            start_time_unix_nano=start,
            end_time_unix_nano=end,
            flags=1,  # sampled: only recorded spans are exported
        )
        _put(made.attributes, pairs)
        if error is not None:
            made.status.code, made.status.message = 2, error  # STATUS_CODE_ERROR
        for event, at, values in events:
            _put(made.events.add(name=event, time_unix_nano=at).attributes, values)
    data: bytes = request.SerializeToString()
    return data


def _put(into: object, pairs: Pairs) -> None:
    for key, value in pairs:
        pair = into.add(key=key)  # type: ignore[attr-defined]
        if isinstance(value, bool):
            pair.value.bool_value = value
        elif isinstance(value, int):
            pair.value.int_value = value
        else:
            pair.value.string_value = value


class Console:
    """One JSON object a line per span, for development (as the logs are)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def export(self, spans: Sequence[Ended], service: str) -> None:
        lines = [
            orjson.dumps(as_json(Finished._make(span), service)).decode() + "\n" for span in spans
        ]
        self.out.write("".join(lines))
        self.out.flush()

    def shutdown(self) -> None:
        pass


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


@dataclass(frozen=True)
class Recorded:
    """An exported span as a test reads it."""

    name: str
    kind: Kind
    trace_id: int
    span_id: int
    parent_id: int  # 0: the first span of its trace
    attributes: dict[str, Value]
    error: str | None
    events: list[tuple[str, dict[str, Value]]]
    service: str


class InMemory:
    """The spans exported, kept in order, for tests to read."""

    def __init__(self) -> None:
        self.spans: list[Recorded] = []

    def export(self, spans: Sequence[Ended], service: str) -> None:
        for ended in spans:
            span = Finished._make(ended)
            self.spans.append(
                Recorded(
                    span.name,
                    span.kind,
                    span.trace_id,
                    span.span_id,
                    span.parent_id,
                    dict(span.attributes),
                    span.error,
                    [(name, dict(values)) for name, _, values in span.events],
                    service,
                )
            )

    def shutdown(self) -> None:
        pass

    def clear(self) -> None:
        self.spans.clear()
