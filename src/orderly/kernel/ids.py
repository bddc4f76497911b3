"""Identifiers."""

import os
import random
import threading
import time

# Random bytes for entity ids, drawn from the kernel's CSPRNG 4 KiB at a time: as
# unguessable as one `os.urandom(16)` per id, without a syscall per id. A forked child
# starts with none, so that no two processes hand out the same ones.
_POOL_SIZE = 4096
_pool = bytearray()
_taking = threading.Lock()  # no two threads take the same bytes


def _empty_pool() -> None:
    global _taking
    _taking = threading.Lock()  # a lock held by a thread the child does not have is never let go
    del _pool[:]


os.register_at_fork(after_in_child=_empty_pool)


def new_id() -> str:
    """An entity id: a random UUID (version 4, RFC 9562), unguessable."""
    with _taking:
        if not _pool:
            _pool.extend(os.urandom(_POOL_SIZE))
        raw = _pool[-16:]
        del _pool[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC's variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_event_id() -> str:
    """A message id: milliseconds since the epoch, then 80 random bits.

    Time first keeps inbox and outbox indexes append-mostly. The random bits come from the
    process's generator (reseeded in each forked worker), not from an `os.urandom` syscall
    per message: message ids must be unique, not secret.
    """
    return f"evt_{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"
