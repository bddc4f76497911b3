"""The envelope every message travels in, the typed bodies it carries, and its wire codec.

On the wire the body is exactly the seeds' event shape (`event_id`, `event_type`, `timestamp`,
`source`, `data`); the rest of the envelope (schema version, correlation and causation ids,
the saga a command or its answer belongs to, trace context, aggregate id) travels in
transport headers.

A message's `data` is declared once, by the context that publishes it, as a `Message` struct in
its `messages.py`; consumers `read` it back into that struct.
"""

import builtins
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import msgspec

from orderly import tracing
from orderly.kernel.clock import iso_z, utcnow
from orderly.kernel.ids import new_event_id


class Part(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """A structure nested in a message's data (a line, a lot), spelled as messages are."""


class Message(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """The data of one message type: its fields are the contract between contexts (camelCase
    on the wire, as seed 002 writes them). `TYPE` is the message's name; `VERSION` counts its
    incompatible changes and travels in the envelope. An optional field (one with a default)
    is left out of the wire while it holds its default."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


M = TypeVar("M", bound=Message)


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    source: str
    occurred_at: datetime
    data: dict[str, Any]
    aggregate_id: str = ""
    schema_version: int = 1
    correlation_id: str = ""
    causation_id: str = ""
    # W3C trace context: the span the message was written in (`orderly.tracing`)
    traceparent: str = ""
    tracestate: str = ""
    # a saga's command, and the answer to it, name the saga
    saga_id: str = ""

    def read(self, kind: builtins.type[M]) -> M:
        """The message's data as the struct its publisher declares (fields it does not know
        are ignored: a newer publisher may add some)."""
        return msgspec.convert(self.data, kind)

    def headers(self) -> dict[str, Any]:
        """The envelope beyond the body, leaving out what is empty or the default: every
        header costs encoding and decoding at each hop."""
        headers: dict[str, Any] = {}
        if self.schema_version != 1:
            headers["schema_version"] = self.schema_version
        if self.correlation_id:
            headers["correlation_id"] = self.correlation_id
        if self.causation_id:
            headers["causation_id"] = self.causation_id
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        if self.aggregate_id:
            headers["aggregate_id"] = self.aggregate_id
        if self.saga_id:
            headers["saga_id"] = self.saga_id
        return headers


class _Body(msgspec.Struct, frozen=True):
    event_id: str
    event_type: str
    timestamp: str
    source: str
    data: dict[str, Any]


_encoder = msgspec.json.Encoder()
_body_decoder = msgspec.json.Decoder(_Body)
_envelope_decoder = msgspec.json.Decoder(Envelope)


def new_message(
    body: Message,
    *,
    source: str,
    aggregate_id: str = "",
    cause: Envelope | None = None,
    saga_id: str = "",
) -> Envelope:
    """A new message; one caused by another inherits its correlation id. A saga's command
    names its saga (`saga_id`); the answer to a command names it too (`answering`). It
    carries the trace context of the span current where it is made (a request's, a
    consumer's, a saga step's), else its cause's."""
    event_id = new_event_id()
    traceparent, tracestate = (cause.traceparent, cause.tracestate) if cause else ("", "")
    if tracing.ON:
        current = tracing.headers()
        if current[0]:
            traceparent, tracestate = current
    return Envelope(
        id=event_id,
        type=body.TYPE,
        source=source,
        occurred_at=utcnow(),
        data=msgspec.to_builtins(body),
        aggregate_id=aggregate_id,
        schema_version=body.VERSION,
        correlation_id=(cause.correlation_id or cause.id) if cause else event_id,
        causation_id=cause.id if cause else "",
        traceparent=traceparent,
        tracestate=tracestate,
        saga_id=saga_id,
    )


def answering(command: Envelope, body: Message, *, source: str, aggregate_id: str) -> Envelope:
    """The answer to `command`: caused by it, and naming the saga that sent it, if any."""
    return new_message(
        body, source=source, aggregate_id=aggregate_id, cause=command, saga_id=command.saga_id
    )


def encode_body(message: Envelope) -> bytes:
    return _encoder.encode(
        _Body(
            event_id=message.id,
            event_type=message.type,
            timestamp=iso_z(message.occurred_at),
            source=message.source,
            data=message.data,
        )
    )


def decode_body(body: bytes, headers: dict[str, Any]) -> Envelope:
    parsed = _body_decoder.decode(body)
    return Envelope(
        id=parsed.event_id,
        type=parsed.event_type,
        source=parsed.source,
        occurred_at=datetime.fromisoformat(parsed.timestamp),
        data=parsed.data,
        aggregate_id=str(headers.get("aggregate_id") or ""),
        schema_version=int(headers.get("schema_version") or 1),
        correlation_id=str(headers.get("correlation_id") or ""),
        causation_id=str(headers.get("causation_id") or ""),
        traceparent=str(headers.get("traceparent") or ""),
        tracestate=str(headers.get("tracestate") or ""),
        saga_id=str(headers.get("saga_id") or ""),
    )


def encode_envelope(message: Envelope) -> bytes:
    """The whole envelope, as kept in the outbox, retry and dead-letter tables."""
    return _encoder.encode(message)


def decode_envelope(raw: bytes | str) -> Envelope:
    return _envelope_decoder.decode(raw)
