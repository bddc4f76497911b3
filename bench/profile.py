"""Where a distributed checkout's time goes: per process, CPU seconds, PostgreSQL round trips,
deliveries consumed and messages published, read from each process's `/metrics` before and
after a run and divided by the checkouts placed in it; PostgreSQL's and RabbitMQ's own CPU
from /proc."""

import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp

_SAMPLE = re.compile(r"^([a-z_]+)(?:\{([^}]*)\})? (\S+)$")
_WANTED = {
    "process_cpu_seconds_total": "cpu",
    "orderly_database_round_trips_total": "round_trips",
    "orderly_messages_consumed_total": "deliveries",
    "orderly_messages_published_total": "published",
}


@dataclass(frozen=True)
class Snapshot:
    per_process: dict[str, dict[str, float]]  # process -> figure -> value
    placed: float  # b2c orders placed, as the ordering processes count them
    servers_cpu: dict[str, float]  # "postgresql", "rabbitmq": CPU seconds


async def snapshot(processes: dict[str, str], token: str) -> Snapshot:
    """`processes`: name -> base URL of each Orderly process."""
    per_process: dict[str, dict[str, float]] = {}
    placed = 0.0
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for name, url in processes.items():
            async with session.get(f"{url}/metrics") as response:
                text = await response.text()
            figures = dict.fromkeys(_WANTED.values(), 0.0)
            for line in text.splitlines():
                found = _SAMPLE.match(line)
                if found is None:
                    continue
                metric, labels, value = found.groups()
                if metric in _WANTED:
                    figures[_WANTED[metric]] += float(value)
                if metric == "orderly_orders_placed_total" and 'channel="b2c"' in (labels or ""):
                    placed += float(value)
            per_process[name] = figures
    return Snapshot(per_process, placed, servers_cpu())


def servers_cpu() -> dict[str, float]:
    """CPU seconds of every PostgreSQL and RabbitMQ process on this machine, from /proc."""
    ticks = 100.0  # USER_HZ on Linux
    totals = {"postgresql": 0.0, "rabbitmq": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            command = stat.parent.joinpath("comm").read_text().strip()
        except OSError:
            continue
        rest = fields[1].split()
        used = (int(rest[11]) + int(rest[12])) / ticks  # utime, stime
        if command.startswith("postgres"):
            totals["postgresql"] += used
        elif command.startswith("beam"):
            totals["rabbitmq"] += used
    return totals


def per_checkout(before: Snapshot, after: Snapshot) -> dict[str, dict[str, float]]:
    """Each process's figures per checkout placed between the two snapshots (CPU in ms)."""
    placed = after.placed - before.placed
    table: dict[str, dict[str, float]] = {}
    for name, figures in after.per_process.items():
        earlier = before.per_process.get(name, {})
        row = {key: (value - earlier.get(key, 0.0)) / placed for key, value in figures.items()}
        row["cpu"] *= 1000
        table[name] = row
    for server, used in after.servers_cpu.items():
        cpu = (used - before.servers_cpu.get(server, 0.0)) / placed * 1000
        table[server] = {"cpu": cpu, "round_trips": 0.0, "deliveries": 0.0, "published": 0.0}
    return table


def show(table: dict[str, dict[str, float]]) -> None:
    print(f"  {'process':<14} {'CPU ms':>8} {'PG trips':>9} {'deliveries':>11} {'published':>10}")
    for name, row in sorted(table.items(), key=lambda item: -item[1]["cpu"]):
        print(
            f"  {name:<14} {row['cpu']:8.2f} {row['round_trips']:9.1f}"
            f" {row['deliveries']:11.1f} {row['published']:10.1f}"
        )
    total = sum(row["cpu"] for row in table.values())
    print(f"  {'all':<14} {total:8.2f}")
