"""Spans on their way out: OTLP/HTTP to a real HTTP server, read back as a collector reads
them; batches from the exporting thread; head sampling; the console's lines."""

import asyncio
import io
import json
from collections.abc import Iterator, Sequence
from enum import StrEnum

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from orderly import tracing
from orderly.tracing import Ended, Finished, export
from orderly.tracing.export import AtOnce, Console, InMemory, Otlp, Spans
from orderly.tracing.forwarding import Forwarding
from tests.otlp import Collector, serving

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def collector(request: pytest.FixtureRequest) -> Iterator[Collector]:
    with serving(refuse=getattr(request, "param", 0)) as made:
        yield made


async def test_spans_reach_an_otlp_collector_as_it_reads_them(collector: Collector) -> None:
    tracing.install(Otlp(collector.url, {"x-api-key": "k"}), "orderly-sales")
    try:
        with tracing.span(
            "POST /api/v1/orders", tracing.parent(CALLER, "vendor=1"), kind="server"
        ) as request:
            request.set_attribute("http.response.status_code", 201)
            with tracing.child("saga b2b reserve", {"orderly.saga.id": "s-1"}):
                pass
        failed = tracing.span("publish order.created", request, kind="producer")
        tracing.end(failed, RuntimeError("broker gone"))
        await tracing.drain()  # as a server does when it stops: from its event loop
    finally:
        tracing.shutdown()

    ((headers, sent),) = collector.requests
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-api-key"] == "k"
    for resource in sent.resource_spans:  # one for each chunk encoded
        assert [(a.key, a.value.string_value) for a in resource.resource.attributes] == [
            ("service.name", "orderly-sales")
        ]
    step, server, publish = collector.spans()  # in the order they ended
    trace_id, caller_span = (bytes.fromhex(part) for part in CALLER.split("-")[1:3])
    assert {span.trace_id for span in (step, server, publish)} == {trace_id}
    assert server.parent_span_id == caller_span
    assert server.name == "POST /api/v1/orders"
    assert server.kind == 2  # SPAN_KIND_SERVER
    assert server.trace_state == "vendor=1"
    assert {a.key: a.value.int_value for a in server.attributes} == {
        "http.response.status_code": 201
    }
    assert server.end_time_unix_nano >= server.start_time_unix_nano > 0
    assert step.parent_span_id == server.span_id
    assert {a.key: a.value.string_value for a in step.attributes} == {"orderly.saga.id": "s-1"}
    assert publish.parent_span_id == server.span_id
    assert publish.kind == 4  # SPAN_KIND_PRODUCER
    assert (publish.status.code, publish.status.message) == (2, "RuntimeError")
    (event,) = publish.events
    assert event.name == "exception"
    assert {a.key: a.value.string_value for a in event.attributes}["exception.message"] == (
        "broker gone"
    )


class Flow(StrEnum):
    B2B = "b2b"


async def test_a_batch_the_exporter_process_cannot_be_handed_is_posted_from_here(
    collector: Collector,
) -> None:
    # a subclass of str is no value marshal writes: the batch is posted by this process
    tracing.install(Forwarding(collector.url, {"x-api-key": "k"}), "orderly-sales")
    try:
        with tracing.span("POST /api/v1/orders", None, kind="server") as request:
            request.set_attribute("orderly.channel", Flow.B2B)
        await tracing.drain()
    finally:
        tracing.shutdown()

    ((headers, _),) = collector.requests
    assert headers["x-api-key"] == "k"
    (span,) = collector.spans()
    assert {a.key: a.value.string_value for a in span.attributes} == {"orderly.channel": "b2b"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("collector", [2], indirect=True)
def test_a_batch_refused_for_a_while_is_sent_again_once(collector: Collector) -> None:
    # no event loop here, as in a command: the spans are sent as tracing stops
    tracing.install(Otlp(collector.url, {}), "orderly-sales")
    try:
        with tracing.span("work", None):
            pass
    finally:
        tracing.shutdown()
    assert collector.refused == 2
    assert len(collector.spans()) == 1


class Batches(AtOnce):
    """An exporter that notes each batch sent from the event loop."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.arrived = asyncio.Event()

    def export(self, spans: Sequence[Ended], service: str) -> None:
        self.sent.append([Finished._make(span).name for span in spans])

    async def send(self, spans: Sequence[Ended], service: str) -> None:
        self.export(spans, service)
        self.arrived.set()


def ended(queue: Spans, names: Iterator[str]) -> None:
    for name in names:
        queue.ended(tracing.Finished(name, "internal", 1, 1, 0, "", 0, 1, {}, None, ()))


async def test_a_full_batch_is_sent_without_waiting_for_its_time() -> None:
    batches = Batches()
    queue = Spans(batches, "orderly-test", batch=True, every=3600)  # no batch falls due
    ended(queue, (f"s{n}" for n in range(export.BATCH)))
    await asyncio.wait_for(batches.arrived.wait(), timeout=10)
    assert [len(batch) for batch in batches.sent] == [export.BATCH]
    await queue.drain()


async def test_fewer_spans_are_sent_when_their_time_comes() -> None:
    batches = Batches()
    queue = Spans(batches, "orderly-test", batch=True, every=0.05)
    ended(queue, iter(["one", "two"]))
    await asyncio.wait_for(batches.arrived.wait(), timeout=10)
    assert batches.sent == [["one", "two"]]
    await queue.drain()


async def test_past_its_limit_the_queue_drops_spans_rather_than_grow() -> None:
    batches = Batches()
    queue = Spans(batches, "orderly-test", batch=True, every=3600)
    ended(queue, (f"s{n}" for n in range(export.MAX_QUEUE + 10)))  # the loop never turns
    assert queue.dropped == 10
    await queue.drain()
    assert sum(len(batch) for batch in batches.sent) == export.MAX_QUEUE
    assert max(len(batch) for batch in batches.sent) == export.BATCH


@pytest.mark.parametrize(("sample", "kept"), [(0.0, 0), (1.0, 1)])
def test_a_trace_begun_here_is_recorded_as_the_sample_says(sample: float, kept: int) -> None:
    spans = InMemory()
    tracing.install(spans, "orderly-test", batch=False, sample=sample)
    try:
        with tracing.span("request", None) as request:
            traceparent, _ = tracing.headers()
            with tracing.child("step"):
                pass
    finally:
        tracing.shutdown()
    # a trace not recorded still passes its context on, marked so, for others not to record
    assert traceparent == request.context.traceparent
    assert tracing.recorded(traceparent) is bool(kept)
    assert len(spans.spans) == 2 * kept


def test_a_caller_that_records_its_trace_is_followed_whatever_the_sample() -> None:
    spans = InMemory()
    tracing.install(spans, "orderly-test", batch=False, sample=0.0)
    try:
        with tracing.span("request", tracing.parent(CALLER)):
            pass
        with tracing.span("request", tracing.parent(CALLER[:-2] + "00")):
            pass
    finally:
        tracing.shutdown()
    (recorded,) = spans.spans
    assert f"{recorded.trace_id:032x}" == CALLER.split("-")[1]


@pytest.mark.parametrize(
    ("traceparent", "span_id"),
    [
        (CALLER, "00f067aa0ba902b7"),
        ("01" + CALLER[2:] + "-later-fields", "00f067aa0ba902b7"),  # a later version's
        (CALLER + "-x", None),  # version 00 has exactly four fields
        ("ff" + CALLER[2:], None),  # version ff is never valid
        (CALLER + "x", None),
    ],
)
def test_traceparent_versions(traceparent: str, span_id: str | None) -> None:
    found = tracing.parent(traceparent)
    if span_id is None:
        assert found is None
    else:
        assert found is not None
        assert f"{found.span_id:016x}" == span_id


def test_the_console_writes_a_json_line_a_span() -> None:
    out = io.StringIO()
    tracing.install(Console(out), "orderly-sales", batch=False)
    try:
        with tracing.span("GET /api/v1/orders/{id}", tracing.parent(CALLER), kind="server"):
            pass
    finally:
        tracing.shutdown()
    (line,) = out.getvalue().splitlines()
    written = json.loads(line)
    assert written["name"] == "GET /api/v1/orders/{id}"
    assert written["kind"] == "server"
    assert written["context"]["trace_id"] == "0x" + CALLER.split("-")[1]
    assert written["parent_id"] == "0x" + CALLER.split("-")[2]
    assert written["resource"]["attributes"]["service.name"] == "orderly-sales"


def test_what_the_encoder_writes_is_read_back_by_the_otlp_messages_themselves() -> None:
    long = "é" * 200  # more than 127 bytes: a length of two bytes
    values: dict[str, str | int | bool] = {
        "text": long,
        "negative": -5,
        "large": 2**62,
        "yes": True,
        "no": False,
        "one": 1,  # equal to True, and still an integer
    }
    ended = (
        "GET /api/v1/orders/{id}",
        "client",
        0xFFFF_FFFF_FFFF_FFFF_0000_0000_0000_0001,
        0x8000_0000_0000_0001,
        0,
        "vendor=1,other=2",
        1_700_000_000_000_000_001,
        1_700_000_000_123_456_789,
        values,
        "TimeoutError",
        (("exception", 1_700_000_000_100_000_000, {"exception.message": long}),),
    )
    body = export.encode([ended, ended], "orderly-ñ")
    (resource,) = ExportTraceServiceRequest.FromString(body).resource_spans
    assert resource.resource.attributes[0].value.string_value == "orderly-ñ"
    (scoped,) = resource.scope_spans
    assert scoped.scope.name == "orderly"
    first, second = scoped.spans
    assert first == second
    assert first.trace_id == (0xFFFF_FFFF_FFFF_FFFF_0000_0000_0000_0001).to_bytes(16, "big")
    assert first.span_id == (0x8000_0000_0000_0001).to_bytes(8, "big")
    assert first.parent_span_id == b""  # the first span of its trace
    assert (first.name, first.kind, first.trace_state) == (
        "GET /api/v1/orders/{id}",
        3,  # SPAN_KIND_CLIENT
        "vendor=1,other=2",
    )
    assert (first.start_time_unix_nano, first.end_time_unix_nano) == (
        1_700_000_000_000_000_001,
        1_700_000_000_123_456_789,
    )
    read = {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in first.attributes}
    assert read == values
    assert [a.value.WhichOneof("value") for a in first.attributes] == [
        "string_value",
        "int_value",
        "int_value",
        "bool_value",
        "bool_value",
        "int_value",
    ]
    (event,) = first.events
    assert (event.name, event.time_unix_nano) == ("exception", 1_700_000_000_100_000_000)
    assert event.attributes[0].value.string_value == long
    assert (first.status.code, first.status.message) == (2, "TimeoutError")
    assert first.flags & 0xFF == 1  # sampled


def test_spans_ended_under_a_second_event_loop_are_sent_from_it() -> None:
    batches = Batches()
    queue = Spans(batches, "orderly-test", batch=True, every=3600)

    async def full_batch(prefix: str) -> None:
        batches.arrived = asyncio.Event()
        ended(queue, (f"{prefix}{n}" for n in range(export.BATCH)))
        await asyncio.wait_for(batches.arrived.wait(), timeout=10)

    asyncio.run(full_batch("first"))  # the loop stops, and its sending task with it
    asyncio.run(full_batch("second"))
    assert [batch[0] for batch in batches.sent] == ["first0", "second0"]
