"""`make chaos` (`python -m chaos`): a mixed load against a cluster of the suite's own while
faults are injected, then every invariant checked. Exits non-zero on any violation.

    python -m chaos --size small --mode faults --seed 7
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from chaos.run import Options, run

RESULTS = Path(__file__).parent / "results" / "latest.json"
# seconds of load, users at once
SIZES = {"small": (30.0, 4), "full": (240.0, 8)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--mode", choices=("faults", "redeliver", "crash", "all"), action="append")
    parser.add_argument(
        "--seed", type=int, default=None, help="makes the fault schedule repeatable"
    )
    parser.add_argument("--duration", type=float, help="seconds of load (default: the size's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each run's database, and its processes' logs in DIR, to look into a failure",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    duration, concurrency = SIZES[args.size]
    console = Console()
    results = []
    for mode in args.mode or ["faults", "redeliver", "crash"]:
        console.rule(f"chaos: {mode} mode, seed {seed}, {args.size} size")
        with tempfile.TemporaryDirectory(prefix="orderly-chaos-") as scratch:
            home = args.keep / mode if args.keep else Path(scratch)
            home.mkdir(parents=True, exist_ok=True)
            length = args.duration or duration
            options = Options(seed, mode, length, concurrency, home, keep=bool(args.keep))
            result = asyncio.run(run(options, say=console.print))
        console.print(table(result))
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"seed": seed, "size": args.size, "passed": all(r["passed"] for r in results)}
    args.out.write_text(json.dumps({**summary, "runs": results}, indent=2, default=str) + "\n")
    console.print(f"written to {args.out}")
    return 0 if summary["passed"] else 1


def table(result: dict[str, Any]) -> Table:
    orders = result["orders"]
    shown = Table(
        title=f"{result['mode']} mode, seed {result['seed']}: "
        + ("[green]passed" if result["passed"] else "[red]FAILED"),
        title_justify="left",
    )
    shown.add_column("")
    shown.add_column("count", justify="right")
    for name in ("attempted", "accepted", "refused", "unanswered", "terminal", "held"):
        shown.add_row(f"orders {name}", str(orders[name]))
    for kind, n in sorted(result["faults"]["injected"].items()):
        shown.add_row(f"fault {kind}", str(n))
    for kind, n in sorted(result["faults"]["not_injected"].items()):
        shown.add_row(f"[red]fault {kind} not injected", str(n))
    for cause, n in result["process_exits"].items():
        shown.add_row(f"processes {cause}", str(n))
    shown.add_row("duplicate deliveries dropped", str(result["duplicates_dropped"]))
    quiet = result["quiet_after_seconds"]
    shown.add_row("quiet after (s)", "never" if quiet < 0 else f"{quiet:.0f}")
    for check in result["invariants"]:
        style = "" if check["violations"] == 0 else "[red]"
        shown.add_row(f"{style}violations: {check['says']}", f"{style}{check['violations']}")
    return shown


if __name__ == "__main__":
    sys.exit(main())
