"""Wave rules: which open wave an order joins. No I/O.

A wave is the work one release sends to the floor: orders that leave with the same carrier
at the same cut-off, picked in the same zone of the same distribution centre. It takes
orders until it would hold more than `max_lines` lines or `max_units` units; an order larger
than that on its own gets a wave of its own. Among the waves an order fits, it joins the
oldest, so that waves fill and go in the order they were opened.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from orderly.kernel.errors import Unprocessable


class InvalidWaveRules(Unprocessable):
    code = "invalid_wave_rules"
    title = "Wave rules are not valid"


@dataclass(frozen=True)
class WaveRules:
    max_lines: int = 200
    max_units: int = 2000

    def __post_init__(self) -> None:
        if self.max_lines < 1 or self.max_units < 1:
            raise InvalidWaveRules("a wave holds at least one line and one unit")


@dataclass(frozen=True)
class Lane:
    """What the orders of one wave share."""

    dc: str
    zone: str
    carrier: str
    cutoff: datetime  # when the carrier collects: the wave must be picked and packed by then


@dataclass(frozen=True)
class OpenWave:
    id: str
    lane: Lane
    opened_at: datetime
    lines: int
    units: int


@dataclass(frozen=True)
class Candidate:
    """An order (or the part of it one DC ships) waiting for a wave."""

    lane: Lane
    lines: int
    units: int


def choose(candidate: Candidate, waves: Iterable[OpenWave], rules: WaveRules) -> str | None:
    """The id of the open wave `candidate` joins, or None: it opens a new one."""
    fitting = [
        wave
        for wave in waves
        if wave.lane == candidate.lane
        and wave.lines + candidate.lines <= rules.max_lines
        and wave.units + candidate.units <= rules.max_units
    ]
    if not fitting:
        return None
    return min(fitting, key=lambda wave: (wave.opened_at, wave.id)).id
