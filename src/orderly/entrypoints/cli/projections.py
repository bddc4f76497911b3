"""`orderly projections`: the order history's projections, and rebuilding one from it."""

from typing import Annotated

import typer

from orderly.entrypoints.cli import deployment, terminal
from orderly.entrypoints.cli.terminal import AsJson, console, fail

app = typer.Typer(help="The order history's projections.", no_args_is_help=True)


@app.command("rebuild")
def projections_rebuild(
    name: Annotated[str, typer.Argument(help="orders (the order view) or analytics")],
    as_json: AsJson = False,
) -> None:
    """Replay the history into a new generation of the projection while the live one keeps
    serving, compare the two, then put the new one in its place."""
    from rich.progress import Progress

    from orderly.history.projections import UnknownProjection, rebuild

    settings = deployment.of_context("history", "projections")
    with Progress(console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"rebuilding {name}", total=None)

        def done(read: int, of: int) -> None:
            bar.update(task, completed=read, total=of)

        try:
            built = deployment.run(settings, lambda dbs: rebuild(dbs["history"], name, done))
        except UnknownProjection as error:
            raise fail(str(error), 2) from None
    if as_json:
        terminal.document(
            {
                "name": built.name,
                "generation": built.generation,
                "events": built.events,
                "rows": built.rows,
                "differences": built.differences,
            }
        )
        return
    same = "identical to" if not built.differences else f"{built.differences} row(s) unlike"
    console.print(
        f"{built.name}: generation {built.generation} from {built.events} event(s),"
        f" {built.rows} row(s), {same} the live one it replaced",
        highlight=False,
    )


@app.command("status")
def projections_status(as_json: AsJson = False) -> None:
    """Each projection's live generation and when it was last rebuilt."""
    from orderly.history.projections import status

    settings = deployment.of_context("history", "projections")
    found = deployment.run(settings, lambda dbs: status(dbs["history"]))
    if as_json:
        terminal.document(found)
        return
    rows = [[row["name"], str(row["generation"]), str(row["rebuilt_at"] or "-")] for row in found]
    terminal.table("projection", "generation", "rebuilt", rows=rows)
