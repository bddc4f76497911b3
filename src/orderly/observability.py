"""Structured JSON logs and Prometheus metrics."""

import logging
import os
import sys

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest


def configure_logging() -> None:
    level = getattr(logging, os.environ.get("ORDERLY_LOG_LEVEL", "INFO").upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
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


# Metrics: counted where the event happens, served at /metrics.
MESSAGES_PUBLISHED = Counter(
    "orderly_messages_published_total", "Messages the relay handed to the transport", ["context"]
)
MESSAGES_CONSUMED = Counter(
    "orderly_messages_consumed_total",
    "Deliveries by outcome: handled, duplicate, retry_scheduled, dead_lettered",
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


def metrics_response() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
