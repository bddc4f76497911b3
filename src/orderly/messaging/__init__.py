"""Messaging kernel: envelope, outbox, relay, inbox, retries, dead letters and transports."""

from orderly.messaging.envelope import Envelope, Message, Part, answering, new_message
from orderly.messaging.outbox import along_with, emit, emit_along

__all__ = [
    "Envelope",
    "Message",
    "Part",
    "along_with",
    "answering",
    "emit",
    "emit_along",
    "new_message",
]
