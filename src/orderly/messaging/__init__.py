"""Messaging kernel: envelope, outbox, relay, inbox, retries, dead letters and transports."""

from orderly.messaging.envelope import Envelope, new_message
from orderly.messaging.outbox import emit

__all__ = ["Envelope", "emit", "new_message"]
