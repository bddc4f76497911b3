"""`orderly sagas`: checkout sagas and their steps."""

import json
from typing import Annotated

import typer

from orderly.entrypoints.cli import deployment, prefixes, terminal
from orderly.entrypoints.cli.terminal import AsJson, console

app = typer.Typer(help="Checkout sagas and their steps.", no_args_is_help=True)


@app.command("list")
def sagas_list(
    state: Annotated[
        str, typer.Option(help="running, compensating, completed, compensated or stuck")
    ] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Sagas, newest first."""
    from orderly.sagas import engine

    settings = deployment.of_context("ordering", "sagas")
    found = deployment.run(settings, lambda dbs: engine.find(dbs["ordering"], state, limit))
    if as_json:
        terminal.document(found)
        return
    fields = ("id", "kind", "state", "step", "reason", "created_at", "updated_at")
    rows = [[str(row[f] if row[f] is not None else "-") for f in fields] for row in found]
    terminal.table("id", "kind", "state", "step", "reason", "started", "updated", rows=rows)


@app.command("show")
def sagas_show(
    saga_id: Annotated[str, typer.Argument(help="The saga's id, or its first characters.")],
    as_json: AsJson = False,
) -> None:
    """One saga with each step, its attempts and timings."""
    from orderly.sagas import engine

    settings = deployment.of_context("ordering", "sagas")
    saga_id = deployment.one_id(settings, "saga", prefixes.SAGAS, saga_id, ["ordering"])
    saga = deployment.run(settings, lambda dbs: engine.get(dbs["ordering"], saga_id))
    if as_json:
        terminal.document(saga)
        return
    console.print(f"saga {saga['saga_id']} ({saga['kind']}): {saga['state']}", highlight=False)
    if saga["reason"]:
        console.print(f"reason: {saga['reason']}", highlight=False, markup=False)
    fields = ("name", "status", "attempts", "started_at", "finished_at")
    rows = [
        [
            *(str(step[f] if step[f] is not None else "-") for f in fields),
            json.dumps(step["detail"], default=str) if step["detail"] else "",
        ]
        for step in saga["steps"]
    ]
    terminal.table("step", "status", "attempts", "started", "finished", "detail", rows=rows)
