"""A run's faults, drawn from its seed before it starts: the same seed, the same faults at the
same moments against the same processes. No I/O."""

import random
from dataclasses import dataclass

# a fault that lasts (`seconds` > 0) is healed when its window ends
KINDS = (
    "kill",  # kill -9 of an Orderly process; supervisord starts it again
    "rabbitmq_restart",
    "postgres_restart",
    "erp_slow",
    "erp_failing",
    "payments_slow",
    "payments_failing",
    "link_delay",  # the proxied replica's link to PostgreSQL or RabbitMQ
    "link_loss",
    "link_partition",
)


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the load starts
    kind: str
    target: str  # a process, a simulator, or a link ("database", "broker")
    seconds: float = 0.0  # how long it lasts; 0: at once

    def describe(self) -> str:
        lasting = f" for {self.seconds:.0f} s" if self.seconds else ""
        return f"{self.at:6.1f} s  {self.kind:<17} {self.target}{lasting}"


def draw(
    seed: int,
    duration: float,
    processes: list[str],
    *,
    kill_every: tuple[float, float] = (3.0, 7.0),
    restarts: bool = True,
) -> list[Fault]:
    """Faults for a load of `duration` seconds: kills every few seconds throughout, each
    other kind once, spread over the first four fifths (the rest is left for the last faults
    to heal in)."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    at = rng.uniform(*kill_every)
    while at < duration * 0.9:
        faults.append(Fault(at, "kill", rng.choice(sorted(processes))))
        at += rng.uniform(*kill_every)
    others: list[tuple[str, str, float]] = [
        ("erp_slow", "erp-sim", 6),
        ("erp_failing", "erp-sim", 4),
        ("payments_slow", "payments-sim", 6),
        ("payments_failing", "payments-sim", 4),
        ("link_delay", rng.choice(("database", "broker")), 6),
        ("link_loss", rng.choice(("database", "broker")), 4),
        ("link_partition", rng.choice(("database", "broker")), 5),
    ]
    if restarts:
        others += [("rabbitmq_restart", "rabbitmq", 0), ("postgres_restart", "postgresql", 0)]
    rng.shuffle(others)
    # each in its own slot, after the load has begun and before its last fifth, so that two
    # do not overlap
    begin = duration * 0.05
    slot = duration * 0.75 / len(others)
    for n, (kind, target, seconds) in enumerate(others):
        lasts = min(seconds, slot)
        start = begin + n * slot + rng.uniform(0, (slot - lasts) * 0.5)
        faults.append(Fault(start, kind, target, lasts))
    return sorted(faults, key=lambda fault: fault.at)
