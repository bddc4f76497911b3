"""What the CLI prints: values, tables and JSON documents, never cut to the terminal's width."""

import json
import sys
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# Far wider than any row: a table is measured at its natural width, not the terminal's.
_UNBOUNDED = 1_000_000

# soft_wrap: a line longer than the terminal is printed whole, never wrapped or cut by Rich
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

# --json on a command: one JSON document on stdout, with the API's field names
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document, for programs.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """The exit a command raises, its reason told on stderr in one line."""
    errors.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def value(text: str) -> None:
    """A value to be copied or read by a program (a code, a URI, an id): one line, as it is,
    with no markup, highlighting or wrapping."""
    typer.echo(text)


def table(*columns: str, rows: list[list[str]]) -> None:
    """A table for people. Rich fits a table to the terminal by wrapping and cutting cells,
    which cuts ids; here a table wider than the terminal is printed at its natural width
    instead (the terminal wraps its lines), so every cell is whole."""
    shown = Table(*columns)
    for row in rows:
        shown.add_row(*(Text(cell) for cell in row))  # as written: no markup in data
    console = Console()
    natural = Measurement.get(console, console.options.update_width(_UNBOUNDED), shown).maximum
    Console(width=max(console.width, natural)).print(shown)


def document(data: Any) -> None:
    """One JSON document on stdout, for programs: no markup, times in ISO 8601."""
    sys.stdout.write(json.dumps(data, default=_plain, indent=2) + "\n")


def _plain(found: object) -> str:
    """Times as the API writes them (UTC as `Z`); anything else as its text."""
    if isinstance(found, datetime):
        shown = found.isoformat()
        return shown[:-6] + "Z" if shown.endswith("+00:00") else shown
    if isinstance(found, date):
        return found.isoformat()
    return str(found)
