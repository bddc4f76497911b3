"""Messaging kernel: envelope, outbox, relay, inbox, retries, dead letters and transports."""

from orderly.messaging.envelope import Envelope, new_message
from orderly.messaging.outbox import along_with, emit, emit_along

__all__ = ["Envelope", "along_with", "emit", "emit_along", "new_message"]
