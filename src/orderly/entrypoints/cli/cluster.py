"""`orderly cluster up|status|down`: a distributed deployment on this machine under supervisord."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orderly.entrypoints.cli.terminal import console, fail

if TYPE_CHECKING:
    from orderly.entrypoints.cluster.plan import Cluster
    from orderly.entrypoints.cluster.status import Seen

app = typer.Typer(help="A distributed deployment on this machine.", no_args_is_help=True)

Config = Annotated[Path, typer.Option(help="The cluster's config file.", dir_okay=False)]
Home = Annotated[
    Path, typer.Option(help="Where supervisord keeps its socket, and the processes their logs.")
]
DEFAULT_CONFIG = Path("deploy/cluster.toml")
DEFAULT_HOME = Path("var/cluster")


def _plan(config: Path, home: Path) -> "Cluster":
    from orderly.config import ConfigError
    from orderly.entrypoints.cluster.plan import load

    try:
        return load(config, home.resolve())
    except ConfigError as error:
        raise fail(str(error), 2) from None


@app.command("up")
def up(
    config: Config = DEFAULT_CONFIG,
    home: Home = DEFAULT_HOME,
    within: Annotated[float, typer.Option(help="Seconds to wait for every process.")] = 180,
) -> None:
    """Migrate once, start every process under supervisord, and wait until each is ready."""
    from orderly.config import ALL_CONTEXTS
    from orderly.entrypoints.cluster import status, supervisor

    cluster = _plan(config, home)
    if supervisor.running(cluster.home):
        raise fail(f"a cluster already runs from {cluster.home}: `orderly cluster down` first", 1)
    # the schema is brought up to date once per deployment, before any process starts
    env = {**os.environ, **cluster.shared, "ORDERLY_CONTEXTS": ",".join(ALL_CONTEXTS)}
    migrated = subprocess.run([sys.executable, "-m", "orderly", "migrate"], env=env, text=True)
    if migrated.returncode != 0:
        raise fail("the migration failed: nothing was started", 1)
    supervisor.start(cluster)
    console.print(f"supervisord started {len(cluster.processes)} processes from {config}")
    deadline = time.monotonic() + within
    while True:
        seen = asyncio.run(status.seen(cluster))
        if all(s.state == "RUNNING" and s.ready == "ready" for s in seen):
            break
        if time.monotonic() > deadline:
            _table(seen)
            raise fail(f"not every process was ready within {within:.0f} s", 1)
        time.sleep(0.5)
    _table(seen)


@app.command("status")
def show(config: Config = DEFAULT_CONFIG, home: Home = DEFAULT_HOME) -> None:
    """Each process: its state, pid and uptime, whether it is ready, its context's queue lag."""
    from orderly.entrypoints.cluster import status, supervisor

    cluster = _plan(config, home)
    if not supervisor.running(cluster.home):
        raise fail(f"no cluster runs from {cluster.home}", 1)
    _table(asyncio.run(status.seen(cluster)))


@app.command("down")
def down(config: Config = DEFAULT_CONFIG, home: Home = DEFAULT_HOME) -> None:
    """Stop every process (each finishes what it is doing) and supervisord."""
    from orderly.entrypoints.cluster import supervisor

    cluster = _plan(config, home)
    if not supervisor.running(cluster.home):
        console.print(f"no cluster runs from {cluster.home}")
        return
    supervisor.stop(cluster.home)
    console.print("every process stopped, and supervisord")


def _table(seen: "list[Seen]") -> None:
    from rich.table import Table

    table = Table("process", "state", "pid", "up", "port", "ready", "queued")
    for s in seen:
        queued = "" if s.waiting is None else str(s.waiting)
        table.add_row(
            s.process.name,
            s.state,
            str(s.pid or ""),
            f"{s.uptime:.0f} s" if s.uptime else "",
            str(s.process.port),
            s.ready,
            queued,
        )
    console.print(table)
