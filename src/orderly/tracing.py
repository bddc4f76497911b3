"""Traces: one per order, from its HTTP request through the outbox, the broker, each consumer
and each saga step, the W3C trace context travelling in the envelope.

Off by default (`ORDERLY_TRACING`). While it is off OpenTelemetry is not even imported, and
every hot path tests `ON` before anything else: a message costs one attribute lookup. Spans
go to this module's own `TracerProvider` (not OpenTelemetry's global one, which may be set
only once per process), with a batch processor: a span's export never waits in a request.
"""

import functools
import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MODES = ("off", "console", "otlp")
_VERSION_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
Kind = Literal["internal", "server", "client", "producer", "consumer"]

# Set once a provider is installed; read by every hot path before it does anything else.
ON = False
_tracer: "Tracer | None" = None
_provider: "TracerProvider | None" = None

A = TypeVar("A")
R = TypeVar("R")


def configure(mode: str, otlp_endpoint: str, service: str, sample: float = 1.0) -> None:
    """Trace as `mode` says (`off`, `console` or `otlp`), recording the share `sample` of the
    traces begun here; `off` leaves alone a provider that is already installed (a test's
    in-memory exporter)."""
    if mode == "off":
        return
    install(_exporter(mode, otlp_endpoint), service, sample=sample)


def _exporter(mode: str, otlp_endpoint: str) -> "SpanExporter":
    if mode == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # one line per span, as the logs are
        return ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: span.to_json(None) + "\n")
    if mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # empty: the exporter's own default (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
        # http://localhost:4318/v1/traces)
        return OTLPSpanExporter(endpoint=otlp_endpoint or None)
    raise ValueError(f"unknown tracing mode {mode!r}")


def install(
    exporter: "SpanExporter", service: str, *, batch: bool = True, sample: float = 1.0
) -> None:
    """Send this process's spans to `exporter`, replacing any provider installed before.
    A trace begun here (a request with no `traceparent`) is recorded with the probability
    `sample`; one begun elsewhere as its caller decided. `batch=False` exports each span as
    it ends (tests read them back at once)."""
    global ON, _tracer, _provider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    shutdown()
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ParentBased(ALWAYS_ON if sample >= 1 else TraceIdRatioBased(sample)),
    )
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    _provider, _tracer = provider, provider.get_tracer("orderly")
    ON = True


def flush() -> None:
    """Export what has ended (before the process stops)."""
    if _provider is not None:
        _provider.force_flush()


def shutdown() -> None:
    """Stop tracing: export what has ended, then trace nothing more."""
    global ON, _tracer, _provider
    ON = False
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


@functools.cache
def _otel() -> SimpleNamespace:
    """OpenTelemetry's API, imported the first time a span is made."""
    from opentelemetry import context, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    kinds = {
        "internal": trace.SpanKind.INTERNAL,
        "server": trace.SpanKind.SERVER,
        "client": trace.SpanKind.CLIENT,
        "producer": trace.SpanKind.PRODUCER,
        "consumer": trace.SpanKind.CONSUMER,
    }
    return SimpleNamespace(
        context=context, trace=trace, propagator=TraceContextTextMapPropagator(), kinds=kinds
    )


def parent(traceparent: str, tracestate: str = "") -> "Context | None":
    """The context a W3C `traceparent` (and `tracestate`) names; None if it names none
    valid (it is taken from messages and requests, so it is checked). Version 00 is read
    here, at a quarter of the cost of OpenTelemetry's propagator, which reads the rest."""
    if not traceparent:
        return None
    api = _otel()
    read = _VERSION_00.fullmatch(traceparent)
    if read is None:
        carrier = {"traceparent": traceparent, "tracestate": tracestate}
        found: Context = api.propagator.extract(carrier)
        if not api.trace.get_current_span(found).get_span_context().is_valid:
            return None
        return found
    trace_id, span_id = int(read[1], 16), int(read[2], 16)
    if not trace_id or not span_id:
        return None
    remote = api.trace.SpanContext(
        trace_id,
        span_id,
        is_remote=True,
        trace_flags=api.trace.TraceFlags(int(read[3], 16)),
        trace_state=api.trace.TraceState.from_header([tracestate]) if tracestate else None,
    )
    made: Context = api.trace.set_span_in_context(api.trace.NonRecordingSpan(remote))
    return made


def recorded(traceparent: str) -> bool:
    """Whether the trace `traceparent` names is being recorded (its sampled flag): the spans
    of one that is not are not even made, and what it causes goes untraced."""
    try:
        return bool(int(traceparent[-2:], 16) & 1)
    except ValueError:
        return False


def headers(span: "Span | None" = None) -> tuple[str, str]:
    """`span`'s (by default the current span's) `traceparent` and `tracestate`; empty when
    there is none."""
    if span is None:
        span = _otel().trace.get_current_span()
    found = span.get_span_context()
    if not found.is_valid:
        return "", ""
    traceparent = f"00-{found.trace_id:032x}-{found.span_id:016x}-{found.trace_flags:02x}"
    return traceparent, found.trace_state.to_header() if found.trace_state else ""


def ids() -> tuple[str, str] | None:
    """The current span's trace and span ids, in hex, for log lines."""
    found = _otel().trace.get_current_span().get_span_context()
    if not found.is_valid:
        return None
    return f"{found.trace_id:032x}", f"{found.span_id:016x}"


def start(
    name: str,
    context: "Context | None",
    *,
    kind: Kind = "internal",
    attributes: Mapping[str, str | int | bool] | None = None,
) -> "Span":
    """A span, child of `context` (None: a new trace), not made current; its owner ends it."""
    assert _tracer is not None
    return _tracer.start_span(
        name, context=context, kind=_otel().kinds[kind], attributes=attributes
    )


def end(span: "Span", error: BaseException | None = None) -> None:
    if error is not None:
        _failed(span, error)
    span.end()


def _failed(span: "Span", error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(_otel().trace.Status(_otel().trace.StatusCode.ERROR, type(error).__name__))


@contextmanager
def span(
    name: str,
    context: "Context | None",
    *,
    kind: Kind = "internal",
    attributes: Mapping[str, str | int | bool] | None = None,
) -> Iterator["Span"]:
    """A span, child of `context`, current while the block runs; an error that leaves the
    block is recorded on it."""
    made = start(name, context, kind=kind, attributes=attributes)
    token = _otel().context.attach(_otel().trace.set_span_in_context(made, context))
    try:
        yield made
    except BaseException as error:
        _failed(made, error)
        raise
    finally:
        _otel().context.detach(token)
        made.end()


@contextmanager
def child(
    name: str, attributes: Mapping[str, str | int | bool] | None = None
) -> Iterator["Span | None"]:
    """A span under the current one, current while the block runs; nothing at all when no
    span is current (a worker's timer, not a traced request or message)."""
    current = _otel().context.get_current()
    if not _otel().trace.get_current_span(current).get_span_context().is_valid:
        yield None
        return
    with span(name, current, attributes=attributes) as made:
        yield made


def bound(work: Callable[[A], Awaitable[R]]) -> Callable[[A], Awaitable[R]]:
    """`work`, run in the trace context current here wherever it is awaited: SQLite runs a
    transaction's work in its writer's task, whose context is not the caller's."""
    current = _otel().context.get_current()
    if not _otel().trace.get_current_span(current).get_span_context().is_valid:
        return work

    async def in_context(argument: A) -> R:
        token = _otel().context.attach(current)
        try:
            return await work(argument)
        finally:
            _otel().context.detach(token)

    return in_context


def inject(carrier: Any) -> None:
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
                        made.set_status(_otel().trace.Status(_otel().trace.StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, noting_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    made.update_name(f"{method} {route}")
                    made.set_attribute("http.route", route)
