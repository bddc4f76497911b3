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
CONSUMER_LAG = Gauge(
    "orderly_consumer_lag_seconds",
    "How long ago the last message a consumer handled was published",
    ["consumer"],
)
CACHE_REQUESTS = Counter(
    "orderly_cache_requests_total",
    "Lookups in the read cache, by what is cached (orders, products) and outcome (hit, miss)",
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


def metrics_response() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
