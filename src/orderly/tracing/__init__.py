"""Traces: one per order, from its HTTP request through the outbox, the broker, each consumer
and each saga step, the W3C trace context travelling in the envelope.

Off by default (`ORDERLY_TRACING`); every hot path tests `ON` before anything else, so a
message costs one attribute lookup. Spans are OpenTelemetry's (W3C trace context in, OTLP out:
any collector reads them) but recorded here, not by OpenTelemetry's Python SDK: a checkout
makes about two dozen spans, and the SDK's twenty microseconds a span were half the checkout
rate (docs/performance.md, "Tracing and the read cache"). A span here is a slotted object,
a span ended goes on a queue, and `export` encodes and sends the queue in batches from the
event loop.
"""

import functools
import re
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from random import getrandbits
from time import time_ns
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from orderly.tracing.export import Exporter, Spans

MODES = ("off", "console", "otlp")
Kind = Literal["internal", "server", "client", "producer", "consumer"]
Value = str | int | bool
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")

# Set once spans are being exported; read by every hot path before it does anything else.
ON = False
_spans: "Spans | None" = None
_sample_below = 1 << 64  # a new trace is recorded when its id's low 64 bits are below this


class SpanContext(NamedTuple):
    """What a span passes on to its children and, as `traceparent`, to other processes (a
    named tuple: one is made for every span, and a frozen dataclass takes three times as
    long to make)."""

    trace_id: int
    span_id: int
    sampled: bool
    tracestate: str = ""

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{'01' if self.sampled else '00'}"


class Span:
    """One unit of work in a trace, current while its `with` block runs. A span of a trace
    not recorded carries its context to its children and records nothing."""

    __slots__ = (
        "attributes",
        "end_ns",
        "error",
        "events",
        "kind",
        "name",
        "parent_id",
        "sampled",
        "span_id",
        "start_ns",
        "token",
        "trace_id",
        "tracestate",
    )

    def __init__(
        self,
        name: str,
        kind: Kind,
        above: "Span | SpanContext | None",
        attributes: dict[str, Value] | None,
    ) -> None:
        """A child of `above` (None: the first span of a new trace, recorded as the sample
        says); `attributes` become the span's own."""
        self.span_id = getrandbits(64) or 1
        if above is None:
            self.trace_id = getrandbits(128) or 1
            self.sampled = (self.trace_id & 0xFFFF_FFFF_FFFF_FFFF) < _sample_below
            self.tracestate = ""
            self.parent_id = 0
        elif type(above) is Span:
            self.trace_id = above.trace_id
            self.sampled = above.sampled
            self.tracestate = above.tracestate
            self.parent_id = above.span_id
        else:
            self.trace_id, self.parent_id, self.sampled, self.tracestate = above  # type: ignore[misc]
        self.name = name
        self.kind = kind
        self.attributes = {} if attributes is None else attributes
        self.error: str | None = None  # the status's description once it is an error
        self.events: list[tuple[str, int, dict[str, Value]]] | None = None
        self.end_ns = 0
        self.start_ns = time_ns()

    @property
    def context(self) -> SpanContext:
        return SpanContext(self.trace_id, self.span_id, self.sampled, self.tracestate)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{'01' if self.sampled else '00'}"

    def set_attribute(self, key: str, value: Value) -> None:
        if not self.end_ns:  # once ended, its attributes are on their way out
            self.attributes[key] = value

    def update_name(self, name: str) -> None:
        self.name = name

    def set_error(self, description: str = "") -> None:
        self.error = description

    def record_exception(self, error: BaseException) -> None:
        attributes: dict[str, Value] = {
            "exception.type": type(error).__qualname__,
            "exception.message": str(error),
            "exception.stacktrace": "".join(traceback.format_exception(error)),
        }
        if self.events is None:
            self.events = []
        self.events.append(("exception", time_ns(), attributes))

    def end(self) -> None:
        if self.end_ns:
            return
        self.end_ns = time_ns()
        if self.sampled and _spans is not None:
            _spans.ended(
                (
                    self.name,
                    self.kind,
                    self.trace_id,
                    self.span_id,
                    self.parent_id,
                    self.tracestate,
                    self.start_ns,
                    self.end_ns,
                    self.attributes,
                    self.error,
                    () if self.events is None else tuple(self.events),
                )
            )

    def __enter__(self) -> "Span":
        self.token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: object
    ) -> None:
        if error is not None:
            _failed(self, error)
        _current.reset(self.token)
        self.end()


Attributes = dict[str, Value]
# A span once ended, as it waits to be exported: a plain tuple of strings, numbers and a
# dict of them, which the garbage collector stops tracking at its first pass.
Ended = tuple[
    str,
    str,
    int,
    int,
    int,
    str,
    int,
    int,
    Attributes,
    str | None,
    tuple[tuple[str, int, Attributes], ...],
]


class Finished(NamedTuple):
    """An ended span's fields by name (`Finished._make(ended)`), for an exporter to read."""

    name: str
    kind: Kind
    trace_id: int
    span_id: int
    parent_id: int  # 0: the first span of its trace
    tracestate: str
    start_ns: int
    end_ns: int
    attributes: Attributes
    error: str | None  # the status's description, when it is an error
    events: tuple[tuple[str, int, Attributes], ...]  # name, time, attributes


# the span current in this task or thread: a request's, a consumer's, a saga step's
_current: ContextVar[Span | None] = ContextVar("orderly_span", default=None)


def configure(mode: str, otlp_endpoint: str, service: str, sample: float = 1.0) -> None:
    """Trace as `mode` says (`off`, `console` or `otlp`), recording the share `sample` of the
    traces begun here; `off` leaves alone an exporter installed before (a test's)."""
    if mode == "off":
        return
    from orderly.tracing import export

    install(export.for_mode(mode, otlp_endpoint), service, sample=sample)


def install(exporter: "Exporter", service: str, *, batch: bool = True, sample: float = 1.0) -> None:
    """Send this process's spans to `exporter`, replacing any installed before. A trace
    begun here (a request with no `traceparent`) is recorded with the probability `sample`;
    one begun elsewhere as its caller decided. `batch=False` exports each span as it ends
    (tests read them back at once)."""
    global ON, _spans, _sample_below
    from orderly.tracing.export import Spans

    shutdown()
    _sample_below = round(min(max(sample, 0.0), 1.0) * (1 << 64))
    _spans = Spans(exporter, service, batch=batch)
    ON = True


async def drain() -> None:
    """Send what has ended, from the event loop (as the process stops)."""
    if _spans is not None:
        await _spans.drain()


def shutdown() -> None:
    """Stop tracing: export what has ended, then trace nothing more."""
    global ON, _spans
    ON = False
    if _spans is not None:
        _spans.shutdown()
    _spans = None


# The contexts of spans whose `traceparent` this process handed to a message (`handed`),
# by that traceparent: its consumers here find their parent without reading the text.
_handed: dict[str, SpanContext] = {}
_HANDED_AT_MOST = 4096


def handed(span: Span) -> tuple[str, str]:
    """`span`'s `traceparent` and `tracestate`, for a message it sends: remembered, so
    that `parent` finds the span's context again at once."""
    if len(_handed) >= _HANDED_AT_MOST:
        _handed.clear()
    traceparent = span.traceparent
    _handed[traceparent] = SpanContext(span.trace_id, span.span_id, span.sampled, span.tracestate)
    return traceparent, span.tracestate


def parent(traceparent: str, tracestate: str = "") -> SpanContext | None:
    """The context a W3C `traceparent` (and `tracestate`) names; None if it names none
    valid (it is taken from messages and requests, so it is checked). A later version than
    00 is read as far as version 00's fields, as the recommendation asks."""
    found = _handed.get(traceparent)
    if found is not None and found.tracestate == tracestate:
        return found
    return _read(traceparent, tracestate)


@functools.lru_cache(maxsize=4096)
def _read(traceparent: str, tracestate: str) -> SpanContext | None:
    """`parent` from the text. Each consumer of a message reads the same `traceparent`:
    the last few thousand read are remembered."""
    read = _TRACEPARENT.match(traceparent)
    if read is None or read[1] == "ff":
        return None
    if read[1] == "00" and len(traceparent) != 55:
        return None
    if len(traceparent) > 55 and traceparent[55] != "-":
        return None
    trace_id, span_id = int(read[2], 16), int(read[3], 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, bool(int(read[4], 16) & 1), tracestate)


def recorded(traceparent: str) -> bool:
    """Whether the trace `traceparent` names is being recorded (its sampled flag): the spans
    of one that is not are not even made, and what it causes goes untraced."""
    return bool(traceparent) and traceparent[-1] in "13579bdf"


def headers(span: Span | None = None) -> tuple[str, str]:
    """`span`'s (by default the current span's) `traceparent` and `tracestate`, for a
    message or a request it sends (remembered, as `handed` does); empty when there is none."""
    found = _current.get() if span is None else span
    if found is None:
        return "", ""
    return handed(found)


def ids() -> tuple[str, str] | None:
    """The current span's trace and span ids, in hex, for log lines."""
    found = _current.get()
    if found is None:
        return None
    return f"{found.trace_id:032x}", f"{found.span_id:016x}"


def end(span: Span, error: BaseException | None = None) -> None:
    if error is not None:
        _failed(span, error)
    span.end()


def _failed(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_error(type(error).__name__)


def span(
    name: str,
    context: Span | SpanContext | None,
    *,
    kind: Kind = "internal",
    attributes: dict[str, Value] | None = None,
) -> Span:
    """A span, child of `context` (None: a new trace, recorded as the sample says), current
    while a `with` block runs, which records an error that leaves it; outside one its owner
    ends it (`end`). `attributes` become the span's own."""
    return Span(name, kind, context, attributes)


@contextmanager
def child(name: str, attributes: dict[str, Value] | None = None) -> Iterator[Span | None]:
    """A span under the current one, current while the block runs; nothing at all when no
    span is current (a worker's timer, not a traced request or message)."""
    current = _current.get()
    if current is None:
        yield None
        return
    with span(name, current, attributes=attributes) as made:
        yield made


def current() -> Span | None:
    """The span current here: a unit of work run by another task (SQLite's writer) carries
    it there, and is run under it (`enter`, `leave`)."""
    return _current.get()


def enter(span: Span) -> "Token[Span | None]":
    """Make `span` current here, until `leave`."""
    return _current.set(span)


def leave(token: "Token[Span | None]") -> None:
    _current.reset(token)


def inject(carrier: MutableMapping[str, str]) -> None:
    """The current span's `traceparent` (and `tracestate`) into outgoing HTTP headers."""
    traceparent, tracestate = headers()
    if traceparent:
        carrier["traceparent"] = traceparent
        if tracestate:
            carrier["tracestate"] = tracestate


class TracedRequests:
    """A server span per HTTP request, child of the caller's `traceparent` when it sends one
    (another of the deployment's services, a proxy); named after the route that answered.
    Only the method, the route, the path and the status are recorded: never a header, a
    query string or a body."""

    def __init__(self, app: "ASGIApp") -> None:
        self.app = app

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] != "http" or not ON:
            await self.app(scope, receive, send)
            return
        sent = {k: v for k, v in scope["headers"] if k in (b"traceparent", b"tracestate")}
        context = parent(
            sent.get(b"traceparent", b"").decode("latin-1"),
            sent.get(b"tracestate", b"").decode("latin-1"),
        )
        method = scope["method"]
        attributes = {"http.request.method": method, "url.path": scope["path"]}
        with span(method, context, kind="server", attributes=attributes) as made:

            async def noting_status(message: "Message") -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    made.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        made.set_error()
                await send(message)

            try:
                await self.app(scope, receive, noting_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    made.update_name(f"{method} {route}")
                    made.set_attribute("http.route", route)
