"""`orderly graphql schema`: the web BFF's GraphQL schema, as the web app's types are made
from it (`docs/schema.graphql`, checked by the tests to match the code)."""

from pathlib import Path
from typing import Annotated

import typer

from orderly.entrypoints.cli.terminal import console, fail

app = typer.Typer(help="The web BFF's GraphQL schema.", no_args_is_help=True)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write it to this file.")] = None,
    check: Annotated[bool, typer.Option(help="Fail if --out differs from the code's.")] = False,
) -> None:
    """Print the schema (SDL), write it, or check a written one."""
    from orderly.bff.graph_api import SCHEMA

    text = str(SCHEMA) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    elif check:
        if not out.is_file() or out.read_text() != text:
            raise fail(f"{out} is not the code's schema: run `orderly graphql schema --out {out}`")
        console.print(f"{out} matches the code's schema")
    else:
        out.write_text(text)
        console.print(f"wrote {out}")
