"""Structured JSON logs, the access log and Prometheus metrics."""

import logging
import os
import sys
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly import tracing


def _level() -> int:
    found = getattr(logging, os.environ.get("ORDERLY_LOG_LEVEL", "INFO").upper(), logging.INFO)
    return found if isinstance(found, int) else logging.INFO


# The message a consumer is handling, (id, correlation id), while its handler runs: its log
# lines name it. (A context variable set and reset per message costs less than binding
# structlog's context for it.)
HANDLING: ContextVar[tuple[str, str] | None] = ContextVar("orderly_handling", default=None)


def add_ids(_: Any, __: str, line: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """What ties a log line to the rest of its work: the message being handled
    (`message_id`, `correlation_id`), and the current span (`trace_id`, `span_id`)."""
    handling = HANDLING.get()
    if handling is not None:
        line.setdefault("message_id", handling[0])
        line.setdefault("correlation_id", handling[1])
    if tracing.ON:
        current = tracing.ids()
        if current is not None:
            line["trace_id"], line["span_id"] = current
    return line


def configure_logging() -> None:
    level = _level()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # stderr is line-buffered even when redirected, so each line is out as it happens
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def access_log_on(embedded: bool) -> bool:
    """`ORDERLY_ACCESS_LOG`, read as the other switches are; unset, on in the embedded mode
    only (a deployment's proxy logs its requests, and its services call each other). Its
    lines are info lines: a higher `ORDERLY_LOG_LEVEL` leaves them out too."""
    raw = os.environ.get("ORDERLY_ACCESS_LOG", "").strip().lower()
    wanted = raw in {"1", "true", "yes", "on"} if raw else embedded
    return wanted and _level() <= logging.INFO


class AccessLog:
    """One JSON line on stderr per request, shaped as the other log lines: its method, its
    path (without the query string), the status answered and the milliseconds it took.
    Nothing a request carries (headers, tokens, bodies) is ever logged. Written here rather
    than through structlog's processors, at a quarter of their cost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = None  # no answer began: the client went away, or the server is stopping

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            line: dict[str, Any] = {
                "event": "request",
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "level": "info",
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            if tracing.ON:  # inside the request's span (`tracing.TracedRequests`)
                current = tracing.ids()
                if current is not None:
                    line["trace_id"], line["span_id"] = current
            sys.stderr.write(orjson.dumps(line).decode() + "\n")


# Metrics: counted where the event happens, served at /metrics.
DATABASE_ROUND_TRIPS = Counter(
    "orderly_database_round_trips_total",
    "Statements sent to PostgreSQL, a transaction's BEGIN and COMMIT included: each is a round"
    " trip, and on a busy host they cost more than the statements' own work",
    ["database"],
)
MESSAGES_PUBLISHED = Counter(
    "orderly_messages_published_total", "Messages the relay handed to the transport", ["context"]
)
MESSAGES_CONSUMED = Counter(
    "orderly_messages_consumed_total",
    "Deliveries by outcome: handled, duplicate, ignored (of no concern to the consumer),"
    " retry_scheduled, dead_lettered",
    ["consumer", "outcome"],
)
RELAY_BATCH_SECONDS = Histogram(
    "orderly_relay_batch_seconds", "Time to publish one outbox batch", ["context"]
)

BREAKER_OPEN = Gauge(
    "orderly_circuit_breaker_open", "1 while a circuit breaker is open (or half-open)", ["circuit"]
)
FALLBACK_CHECKS = Counter(
    "orderly_fallback_checks_total",
    "Availability checks answered from the last snapshot while the breaker was open or the"
    " call failed",
    ["circuit"],
)
ORDERS_PLACED = Counter(
    "orderly_orders_placed_total", "Orders accepted, by flow (their channel)", ["channel"]
)
ORDERS_MOVED = Counter(
    "orderly_orders_moved_total",
    "Orders that reached a status, by flow (their channel): a flow's outcomes are processing"
    " (paid, or accepted), delivered, cancelled, payment_failed and failed",
    ["channel", "status"],
)
SAGA_STEP_SECONDS = Histogram(
    "orderly_saga_step_seconds",
    "From a saga step's command to the answer that ended it, by saga kind, step and outcome"
    " (succeeded, failed, compensated: from the undoing's command to its answer)",
    ["kind", "step", "outcome"],
    # a step answers in milliseconds, or waits for a warehouse, a carrier or an approver
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
RESERVATIONS_EXPIRED = Counter(
    "orderly_reservations_expired_total",
    "Reservations given back because their time ran out: cart holds (soft) and the holds"
    " of direct orders never placed (order)",
    ["kind"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "orderly_http_request_duration_seconds",
    "HTTP requests by method, route (its template; `unmatched` when no route answered) and"
    " status, and the seconds each took",
    ["method", "route", "status"],
)
CONSUMER_LAG = Gauge(
    "orderly_consumer_lag_seconds",
    "How long ago the last message a consumer handled was published",
    ["consumer"],
)
CACHE_REQUESTS = Counter(
    "orderly_cache_requests_total",
    "Lookups in the read cache, by what is cached (orders, products, pages) and outcome"
    " (hit, miss)",
    ["cache", "outcome"],
)
# Read from the databases each time /metrics is asked (entrypoints.figures): exact, whatever
# process wrote them.
SAGAS = Gauge("orderly_sagas", "Sagas by context, kind and state", ["context", "kind", "state"])
OUTBOX_PENDING = Gauge(
    "orderly_outbox_pending", "Messages written to the outbox, not yet published", ["context"]
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "orderly_outbox_oldest_pending_seconds",
    "How long the oldest unpublished message has waited (0: none waits)",
    ["context"],
)
DEAD_LETTERS = Gauge(
    "orderly_dead_letters_waiting",
    "Dead letters not replayed yet, by context and consumer",
    ["context", "consumer"],
)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class RequestMetrics:
    """Every request observed in `orderly_http_request_duration_seconds` under its route's
    template, never its path, so that the series stay as few as the routes: a path no route
    answered (a 404, a refusal at the edge) is `unmatched`, a method no route takes `other`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # the labelled series by (method, route, status): each found once, without the lock
        # `labels` takes
        self._series: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "none"  # no answer began: the client went away, or the server is stopping

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: str, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = HTTP_REQUEST_SECONDS.labels(method, route, status)
        series.observe(seconds)


def metrics_response() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
