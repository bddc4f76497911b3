"""Fault injection for tests and drills: the process dies at a named point, a context answers
late, or an operator switches a context this process calls to unreachable.

Inert unless `ORDERLY_CRASH_AFTER` names a point; then the first process of a deployment
to reach it exits at once (as if killed), after writing `ORDERLY_CRASH_MARKER` so that, once
restarted, it runs on. Points are `checkout.committed` (a checkout's order and saga are
committed, the answer not yet sent), `during:<consumer>:<type>` (a message was handled,
its transaction not yet committed), `after:<consumer>:<type>` (committed, not yet
acknowledged), `erp.called` (the ERP answered a sales order call, its answer not yet
stored), `relay.claimed` (outbox rows claimed, not yet published) and `relay.published`
(published, not yet marked sent).

`ORDERLY_CRASH_CHANCE=relay.published=0.02,after:*=0.01` makes a process exit at those
points (shell-style patterns) with that chance each time it passes one: the fault-injection
suite's crash mode, under a supervisor that starts it again.
"""

import os
import random
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

POINT = os.environ.get("ORDERLY_CRASH_AFTER", "")
MARKER = os.environ.get("ORDERLY_CRASH_MARKER", "")


def _numbers(text: str) -> dict[str, float]:
    numbers: dict[str, float] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        name, _, value = part.rpartition("=")
        numbers[name.strip()] = float(value)
    return numbers


CHANCES = _numbers(os.environ.get("ORDERLY_CRASH_CHANCE", ""))
# whether any crash is asked for: the hot paths test this alone
ARMED = bool(POINT or CHANCES)


def crash_at(point: str) -> None:
    for pattern, chance in CHANCES.items():
        if fnmatchcase(point, pattern) and random.random() < chance:
            os._exit(137)
    if not POINT or point != POINT:
        return
    if MARKER:
        marker = Path(MARKER)
        try:
            with marker.open("x") as written:  # only the first process to get here
                written.write(point)
        except FileExistsError:
            return
    os._exit(137)


# `ORDERLY_FAULT_DELAY=catalog=0.3,pricing=0.3`: a BFF's calls to those contexts answer that
# many seconds late, as a slow context would (the fan-out's tests). Inert unless set.
DELAYS = _numbers(os.environ.get("ORDERLY_FAULT_DELAY", ""))


def delay_of(context: str) -> float:
    return DELAYS.get(context, 0.0)


# `ORDERLY_REDELIVER_ALL=true`: every message a consumer handles is handed back to the broker
# the first time instead of acknowledged, so that each is delivered at least twice (the
# fault-injection suite's redelivery mode: the inbox must make the second a no-op).
REDELIVER_ALL = os.environ.get("ORDERLY_REDELIVER_ALL", "").lower() in {"1", "true", "yes"}


class Switches:
    """The contexts an operator has switched to unreachable in this process, for a drill or a
    demonstration of what Orderly does without them (`PUT /api/v1/admin/faults`, served only
    with `ORDERLY_FAULT_SWITCHES=true`): a call to one fails as a call to a context that is
    down does."""

    def __init__(self) -> None:
        self.unreachable: frozenset[str] = frozenset()

    def is_down(self, context: str) -> bool:
        return context in self.unreachable


@dataclass
class SimulatorFaults:
    """What a simulator of the outside world (the ERP, the card gateway) is switched to do,
    at `/sim/faults`: answer `latency_ms` late, and run the next `times` calls (None: every
    call) in `mode` (ok, error, timeout, ...)."""

    latency_ms: int = 0
    mode: str = "ok"
    times: int | None = None

    def next_mode(self) -> str:
        """The mode this call runs in; a counted mode returns to `ok` once used up."""
        mode = self.mode
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:
                self.mode, self.times = "ok", None
        return mode

    def view(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "mode": self.mode, "times": self.times}
