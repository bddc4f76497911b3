"""Trace context in the envelope and on HTTP requests; the ids log lines carry; the settings."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import orjson
import pytest
from fastapi import FastAPI

from orderly import tracing
from orderly.config import ConfigError, load_settings
from orderly.kernel.ids import new_id
from orderly.messaging.envelope import (
    Envelope,
    decode_body,
    decode_envelope,
    encode_body,
    new_message,
)
from orderly.observability import HANDLING, add_ids
from orderly.payments.context import CONTEXT as PAYMENTS
from orderly.tracing.export import InMemory
from tests.bus import consumers_of
from tests.messages import Pinged, order_confirmed

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemory]:
    exporter = InMemory()
    tracing.install(exporter, "orderly-test", batch=False)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def test_a_message_made_in_a_span_carries_that_span(spans: InMemory) -> None:
    with tracing.span("work", None) as current:
        made = new_message(Pinged(n=1), source="sales-service")
    assert made.traceparent == _traceparent_of(current)


def test_outside_a_span_a_message_carries_its_causes_trace(spans: InMemory) -> None:
    cause = new_message(Pinged(n=1), source="sales-service")
    cause = Envelope(**{**_fields(cause), "traceparent": CALLER, "tracestate": "vendor=1"})
    made = new_message(Pinged(n=2), source="sales-service", cause=cause)
    assert (made.traceparent, made.tracestate) == (CALLER, "vendor=1")


def test_with_tracing_off_a_message_carries_its_causes_trace_alone() -> None:
    assert not tracing.ON
    first = new_message(Pinged(n=1), source="sales-service")
    assert first.traceparent == ""
    cause = Envelope(**{**_fields(first), "traceparent": CALLER})
    assert new_message(Pinged(n=2), source="s", cause=cause).traceparent == CALLER


def test_the_trace_context_survives_the_wire_in_headers() -> None:
    message = Envelope(
        id="evt_1",
        type="order.created",
        source="sales-service",
        occurred_at=datetime(2024, 1, 15, 14, 30, tzinfo=UTC),
        data={"order_id": "o-1"},
        traceparent=CALLER,
        tracestate="vendor=1",
    )
    assert message.headers()["traceparent"] == CALLER
    assert message.headers()["tracestate"] == "vendor=1"
    assert decode_body(encode_body(message), message.headers()) == message
    assert "traceparent" not in orjson.loads(encode_body(message))  # the body stays the seeds'


def test_an_envelope_kept_before_trace_state_existed_is_read() -> None:
    # as the outbox, the retry queue and the dead letters held it before `tracestate`
    kept = (
        b'{"id":"evt_1","type":"order.created","source":"sales-service",'
        b'"occurred_at":"2024-01-15T14:30:00Z","data":{},"aggregate_id":"","schema_version":1,'
        b'"correlation_id":"evt_1","causation_id":"","traceparent":"","saga_id":""}'
    )
    read = decode_envelope(kept)
    assert (read.traceparent, read.tracestate) == ("", "")


async def test_a_request_span_is_a_child_of_the_callers_traceparent(
    spans: InMemory,
) -> None:
    app = FastAPI()

    @app.get("/api/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str | None]:
        return {"traceparent": new_message(Pinged(n=1), source="s").traceparent}

    app.add_middleware(tracing.TracedRequests)

    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orderly") as client:
        response = await client.get("/api/v1/things/7?secret=1", headers={"traceparent": CALLER})

    (server,) = spans.spans
    assert server.kind == "server"
    assert server.name == "GET /api/v1/things/{thing_id}"
    assert f"{server.trace_id:032x}" == CALLER.split("-")[1]
    assert f"{server.parent_id:016x}" == CALLER.split("-")[2]
    assert server.attributes["http.response.status_code"] == 200
    assert "secret" not in str(dict(server.attributes))  # no query string
    # what the route wrote carries the request's span
    assert response.json()["traceparent"].split("-")[2] == f"{server.span_id:016x}"


@pytest.mark.parametrize(
    ("flags", "recorded"), [("01", True), ("00", False)], ids=["recorded", "not-recorded"]
)
async def test_a_consumer_handles_a_traced_message_in_a_span_under_it(
    spans: InMemory, tmp_path: Path, flags: str, recorded: bool
) -> None:
    trace_id, publish_id = CALLER.split("-")[1:3]
    confirmed = order_confirmed(new_id(), Decimal("9.99"))
    confirmed = msgspec.structs.replace(
        confirmed, traceparent=f"00-{trace_id}-{publish_id}-{flags}"
    )

    async with consumers_of(PAYMENTS, tmp_path) as payments:
        assert await payments.deliver(confirmed) == 1
        (paid,) = await payments.published("", "payment.completed")

    if not recorded:  # the caller chose not to record this trace: no span is even made
        assert spans.spans == []
        assert not tracing.recorded(paid.traceparent or "00")
        return
    (handled,) = spans.spans
    assert handled.kind == "consumer"
    assert handled.name == "process order.confirmed"
    assert f"{handled.trace_id:032x}" == trace_id
    assert f"{handled.parent_id:016x}" == publish_id
    assert handled.attributes["orderly.context"] == "payments"
    assert handled.attributes["messaging.message.id"] == confirmed.id
    # what the handler sent carries its span
    assert paid.traceparent.split("-")[1:3] == [trace_id, f"{handled.span_id:016x}"]


@pytest.mark.parametrize(
    "traceparent",
    [
        "",
        "garbage",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-4bf92f3577b34da6a3ce929d0e0e4736-{'0' * 16}-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ],
    ids=["empty", "garbage", "no-trace-id", "no-span-id", "upper-case"],
)
def test_a_malformed_traceparent_names_no_parent(spans: InMemory, traceparent: str) -> None:
    assert tracing.parent(traceparent) is None


def test_log_lines_name_the_span_and_the_message_being_handled(
    spans: InMemory,
) -> None:
    named = HANDLING.set(("evt_1", "evt_0"))
    try:
        with tracing.span("work", None) as current:
            line = add_ids(None, "info", {"event": "x"})
    finally:
        HANDLING.reset(named)
    context = current.context
    assert line == {
        "event": "x",
        "message_id": "evt_1",
        "correlation_id": "evt_0",
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
    }
    assert add_ids(None, "info", {"event": "y"}) == {"event": "y"}


def test_tracing_is_off_unless_chosen_and_bad_choices_are_refused() -> None:
    assert load_settings({}).tracing == "off"
    assert load_settings({"ORDERLY_TRACING": "otlp"}).tracing == "otlp"
    with pytest.raises(ConfigError, match="ORDERLY_TRACING"):
        load_settings({"ORDERLY_TRACING": "jaeger"})
    with pytest.raises(ConfigError, match="ORDERLY_OTLP_ENDPOINT"):
        load_settings({"ORDERLY_OTLP_ENDPOINT": "collector:4318"})


def _traceparent_of(span: tracing.Span) -> str:
    """As W3C Trace Context writes it: version, trace id, span id, flags (recorded)."""
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-01"


def _fields(message: Envelope) -> dict[str, object]:
    return {name: getattr(message, name) for name in message.__struct_fields__}
