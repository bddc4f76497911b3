"""Identifiers."""

import random
import time
import uuid


def new_id() -> str:
    """An entity id: a random UUID, unguessable."""
    return str(uuid.uuid4())


def new_event_id() -> str:
    """A message id: milliseconds since the epoch, then 80 random bits.

    Time first keeps inbox and outbox indexes append-mostly. The random bits come from the
    process's generator (reseeded in each forked worker), not from an `os.urandom` syscall
    per message: message ids must be unique, not secret.
    """
    return f"evt_{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"
