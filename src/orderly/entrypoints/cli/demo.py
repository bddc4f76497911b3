"""`orderly demo`: the demo catalog, users, pharmacy and contract, and the seed flows played."""

from typing import Annotated

import typer

from orderly.config import Settings
from orderly.entrypoints.cli import deployment, terminal
from orderly.entrypoints.cli.terminal import console, fail

app = typer.Typer(help="Demo data.", no_args_is_help=True)


@app.command("load")
def demo_load(
    catalog: Annotated[
        str, typer.Option(help="'fda' also loads the FDA NDC directory (the fda extra).")
    ] = "",
    fda_limit: Annotated[
        int, typer.Option(min=0, help="Only the first N packages of the directory (0: all).")
    ] = 0,
) -> None:
    """Load the demo catalog and demo users (safe to run again)."""
    from orderly.demo import (
        DEMO_CUSTOMER,
        DEMO_OPERATOR,
        DEMO_PASSWORD,
        DEMO_PHARMACIST,
        load_demo,
        load_demo_contract,
        load_demo_pharmacy,
        load_demo_users,
    )
    from orderly.identity.passwords import passwords_for

    settings = deployment.of_context("catalog", "demo products")
    created, existing = deployment.run(settings, lambda dbs: load_demo(dbs["catalog"]))
    console.print(f"demo catalog: {created} product(s) created, {existing} already there")
    if catalog == "fda":
        _load_fda(settings, fda_limit)
    elif catalog:
        raise fail(f"unknown catalog {catalog!r} (the one there is: fda)", 2)
    if "identity" in settings.contexts:
        # the demo's users are hashed as the servers hash
        hashing = passwords_for(settings)
        deployment.run(settings, lambda dbs: load_demo_users(dbs["identity"], hashing))
        deployment.run(settings, lambda dbs: load_demo_pharmacy(dbs["identity"], hashing))
        console.print(
            f"demo users: {DEMO_OPERATOR} (operator), {DEMO_CUSTOMER} (customer) and"
            f" {DEMO_PHARMACIST} (pharmacy buyer with MFA: `orderly demo mfa-code`),"
            f" password {DEMO_PASSWORD}"
        )
    if "pricing" in settings.contexts:
        made = deployment.run(
            settings, lambda dbs: load_demo_contract(dbs["catalog"], dbs["pricing"])
        )
        console.print(f"demo contract: {'created' if made else 'already there'}")


def _load_fda(settings: Settings, limit: int) -> None:
    from rich.progress import Progress

    from orderly.catalog.fda import DirectoryMissing, load_fda

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("FDA NDC directory", total=None)

        def done(n: int) -> None:
            bar.update(task, completed=n)

        try:
            created, existing = deployment.run(
                settings, lambda dbs: load_fda(dbs["catalog"], done, limit)
            )
        except DirectoryMissing as error:
            raise fail(str(error)) from None
    console.print(f"FDA directory: {created} package(s) created, {existing} already there")


@app.command("mfa-code")
def demo_mfa_code(
    uri: Annotated[bool, typer.Option(help="Print the URI for an authenticator app.")] = False,
) -> None:
    """The demo pharmacist's current TOTP code (it changes every 30 seconds)."""
    from orderly.demo import DEMO_PHARMACIST
    from orderly.identity import mfa

    settings = deployment.of_context("identity", "demo users")
    found = deployment.run(settings, lambda dbs: mfa.current(dbs["identity"], DEMO_PHARMACIST))
    if found is None:
        raise fail("no demo pharmacist: run `orderly demo load` first")
    terminal.value(found[1] if uri else found[0])


@app.command("run")
def demo_run(
    url: Annotated[
        str,
        typer.Option(
            help="A running Orderly with the demo data (`make run`'s is http://127.0.0.1:8000);"
            " by default the demo starts one of its own, embedded, and stops it after."
        ),
    ] = "",
    erp_url: Annotated[
        str,
        typer.Option(help="With --url: its ERP simulator, whose faults the demo switches."),
    ] = "http://127.0.0.1:8070",
    only: Annotated[
        list[str] | None, typer.Option(help="Only these seeds' flows (000 to 004).")
    ] = None,
) -> None:
    """Play every seed flow through the REST API, with progress bars and a table of each
    flow's outcome and time: 001 direct; 002 B2C paid, declined and short; 003 guarded,
    compensated and with the breaker open; 000 B2B with an ERP timeout undone and replayed;
    004 fulfillment to delivery."""
    import asyncio

    from orderly.entrypoints.cli import playback

    async def played(target: playback.Target) -> list[playback.Played]:
        return await playback.play(target, console, tuple(only or ()))

    try:
        if url:
            target = playback.Target(url.rstrip("/"), erp_url, playback.environment())
            results = asyncio.run(played(target))
        else:
            console.print("starting an Orderly of the demo's own (embedded, SQLite)...")
            with playback.own_deployment() as target:
                console.print(f"it serves {target.url} while the demo runs")
                results = asyncio.run(played(target))
    except playback.DemoFailed as failure:
        raise fail(str(failure)) from None
    console.print(playback.table(results))
    if not all(result.ok for result in results):
        raise typer.Exit(1)
