"""The `orderly` command."""

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from orderly.bootstrap import StartupError, migrate_all, open_databases, unreachable
from orderly.config import ConfigError, Settings, load_settings, redact
from orderly.entrypoints import prefixes, terminal
from orderly.identity.passwords import passwords_for
from orderly.storage import Database, Statement

T = TypeVar("T")

app = typer.Typer(help="Orderly order management.", no_args_is_help=True, add_completion=False)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
outbox_app = typer.Typer(help="The transactional outbox.", no_args_is_help=True)
dead_app = typer.Typer(help="Messages no consumer could handle.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(outbox_app, name="outbox")
app.add_typer(dead_app, name="dead-letters")
sagas_app = typer.Typer(help="Checkout sagas and their steps.", no_args_is_help=True)
app.add_typer(sagas_app, name="sagas")
users_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(users_app, name="users")

# soft_wrap: a line longer than the terminal is printed whole, never wrapped or cut by Rich
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

# --json on a command: one JSON document on stdout, with the API's field names
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document, for programs.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigError as error:
        raise _fail(str(error), 2) from None
    return settings


def _context_settings(context: str, what: str) -> Settings:
    """Settings for a command that works in `context`'s database, migrated first."""
    settings = _settings()
    if context not in settings.contexts:
        raise _fail(f"{what} live in the {context} context, which is not configured", 2)
    _migrate(settings)
    return settings


def _run(settings: Settings, work: Callable[[dict[str, Database]], Awaitable[T]]) -> T:
    async def main() -> T:
        databases = await open_databases(settings)
        try:
            return await work(databases)
        finally:
            for db in databases.values():
                await db.close()

    try:
        return asyncio.run(main())
    except StartupError as error:
        raise _fail(str(error), 2) from None


def _migrate(settings: Settings) -> None:
    try:
        asyncio.run(migrate_all(settings))
    except StartupError as error:
        raise _fail(str(error), 2) from None


@app.command()
def migrate() -> None:
    """Create or upgrade every context's tables."""
    settings = _settings()
    _migrate(settings)
    console.print(f"migrated {', '.join(settings.contexts)} in {redact(settings.database_url)}")


def _preflight(settings: Settings) -> None:
    """Fail fast, in one line, when the database or the broker cannot be used."""
    import aio_pika

    # The broker clients log each failed connect; the one line below says it all.
    for noisy in ("aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    _migrate(settings)

    async def check() -> None:
        databases = await open_databases(settings)
        for db in databases.values():
            await db.close()
        if settings.broker_url:
            try:
                connection = await aio_pika.connect(settings.broker_url, timeout=10)
            except Exception as error:
                raise StartupError(unreachable("broker", settings.broker_url, error)) from None
            await connection.close()

    try:
        asyncio.run(check())
    except StartupError as error:
        raise _fail(str(error), 2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    contexts: Annotated[
        str | None, typer.Option(help="Comma-separated contexts to serve (default: all).")
    ] = None,
    relay: Annotated[bool, typer.Option(help="Run the outbox relay in this process.")] = True,
) -> None:
    """Serve the HTTP API with its consumers, relay and retry workers."""
    if contexts:
        os.environ["ORDERLY_CONTEXTS"] = contexts
    if not relay:
        os.environ["ORDERLY_RELAY_ENABLED"] = "false"
    settings = _settings(host=host, port=port)
    _preflight(settings)
    # the preflight migrated; the server's worker need not do it again
    os.environ["ORDERLY_MIGRATE_ON_START"] = "false"
    mode = "embedded" if settings.embedded else "distributed"
    transport = redact(settings.broker_url) if settings.broker_url else "in-process"
    console.print(
        f"Orderly {mode}: contexts {', '.join(settings.contexts)}; "
        f"database {redact(settings.database_url)}; transport {transport}; "
        f"relay {'on' if settings.relay_enabled else 'off'}"
    )
    console.print(f"serving http://{settings.host}:{settings.port} (OpenAPI at /docs)")
    import uvicorn

    from orderly.entrypoints.protocol import bounded_protocol

    # uvicorn serves on the application's own event loop (uvloop where it is installed, and
    # httptools): a request is read, handled and answered on one thread, which on a host whose
    # cores are busy answers sooner than a server that hands each request across threads
    # (docs/performance.md).
    uvicorn.run(
        "orderly.entrypoints.web:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="auto",
        http=bounded_protocol(settings.max_header_bytes),
        # X-Forwarded-For names the client only when a configured proxy sent it
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        log_config=None,  # Orderly's logging, configured by the factory
        access_log=False,
        server_header=False,
    )


@demo_app.command("load")
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

    settings = _context_settings("catalog", "demo products")
    created, existing = _run(settings, lambda dbs: load_demo(dbs["catalog"]))
    console.print(f"demo catalog: {created} product(s) created, {existing} already there")
    if catalog == "fda":
        _load_fda(settings, fda_limit)
    elif catalog:
        raise _fail(f"unknown catalog {catalog!r} (the one there is: fda)", 2)
    if "identity" in settings.contexts:
        # the demo's users are hashed as the servers hash
        hashing = passwords_for(settings)
        _run(settings, lambda dbs: load_demo_users(dbs["identity"], hashing))
        _run(settings, lambda dbs: load_demo_pharmacy(dbs["identity"], hashing))
        console.print(
            f"demo users: {DEMO_OPERATOR} (operator), {DEMO_CUSTOMER} (customer) and"
            f" {DEMO_PHARMACIST} (pharmacy buyer with MFA: `orderly demo mfa-code`),"
            f" password {DEMO_PASSWORD}"
        )
    if "pricing" in settings.contexts:
        made = _run(settings, lambda dbs: load_demo_contract(dbs["catalog"], dbs["pricing"]))
        console.print(f"demo contract: {'created' if made else 'already there'}")


def _load_fda(settings: Settings, limit: int) -> None:
    from rich.progress import Progress

    from orderly.catalog.fda import DirectoryMissing, load_fda

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("FDA NDC directory", total=None)

        def done(n: int) -> None:
            bar.update(task, completed=n)

        try:
            created, existing = _run(settings, lambda dbs: load_fda(dbs["catalog"], done, limit))
        except DirectoryMissing as error:
            raise _fail(str(error)) from None
    console.print(f"FDA directory: {created} package(s) created, {existing} already there")


@demo_app.command("mfa-code")
def demo_mfa_code(
    uri: Annotated[bool, typer.Option(help="Print the URI for an authenticator app.")] = False,
) -> None:
    """The demo pharmacist's current TOTP code (it changes every 30 seconds)."""
    from orderly.demo import DEMO_PHARMACIST
    from orderly.identity import mfa

    settings = _context_settings("identity", "demo users")
    found = _run(settings, lambda dbs: mfa.current(dbs["identity"], DEMO_PHARMACIST))
    if found is None:
        raise _fail("no demo pharmacist: run `orderly demo load` first")
    terminal.value(found[1] if uri else found[0])


@outbox_app.command("status")
def outbox_status_command(as_json: AsJson = False) -> None:
    """Messages waiting in each context's outbox."""
    from orderly.messaging.relay import outbox_status

    settings = _settings()

    async def work(dbs: dict[str, Database]) -> list[dict[str, Any]]:
        return [await outbox_status(db) for db in dbs.values()]

    found = _run(settings, work)
    if as_json:
        terminal.document(found)
        return
    rows = [
        [str(r["context"]), str(r["pending"]), str(r["published"]), str(r["oldest_pending"] or "-")]
        for r in found
    ]
    terminal.table("context", "pending", "published", "oldest pending", rows=rows)


@sagas_app.command("list")
def sagas_list(
    state: Annotated[
        str, typer.Option(help="running, compensating, completed, compensated or stuck")
    ] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Sagas, newest first."""
    from orderly.sagas import engine

    settings = _context_settings("ordering", "sagas")
    found = _run(settings, lambda dbs: engine.find(dbs["ordering"], state, limit))
    if as_json:
        terminal.document(found)
        return
    fields = ("id", "kind", "state", "step", "reason", "created_at", "updated_at")
    rows = [[str(row[f] if row[f] is not None else "-") for f in fields] for row in found]
    terminal.table("id", "kind", "state", "step", "reason", "started", "updated", rows=rows)


@sagas_app.command("show")
def sagas_show(
    saga_id: Annotated[str, typer.Argument(help="The saga's id, or its first characters.")],
    as_json: AsJson = False,
) -> None:
    """One saga with each step, its attempts and timings."""
    from orderly.sagas import engine

    settings = _context_settings("ordering", "sagas")
    saga_id = _one_id(settings, "saga", prefixes.SAGAS, saga_id, ["ordering"])
    saga = _run(settings, lambda dbs: engine.get(dbs["ordering"], saga_id))
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


def _one_id(
    settings: Settings, what: str, table: Statement, prefix: str, contexts: list[str]
) -> str:
    """The id that `prefix` names in `contexts`' `table`; a clear error if none or several."""

    async def work(dbs: dict[str, Database]) -> list[str]:
        return await prefixes.ids_starting_with([dbs[c] for c in contexts], table, prefix)

    try:
        return prefixes.the_one(what, prefix, _run(settings, work))
    except prefixes.PrefixError as error:
        raise _fail(str(error)) from None


holds_app = typer.Typer(help="What carts hold of each product.", no_args_is_help=True)
app.add_typer(holds_app, name="holds")


@holds_app.command("list")
def holds_list(product_id: str, as_json: AsJson = False) -> None:
    """The carts holding a product now, largest first: whose, how many, since and until when."""
    from orderly.inventory import service

    settings = _context_settings("inventory", "holds")
    try:
        found = _run(settings, lambda dbs: service.holds(dbs["inventory"], product_id))
    except service.ProductNotFound:
        raise _fail(f"product {product_id} is not stocked") from None
    if as_json:
        terminal.document(found)
        return
    # one line per hold, ids whole: fit to be read, grepped and pasted
    typer.echo("cart\tcustomer\taccount\tdc\tquantity\tfirst held at\texpires at")
    for hold in found:
        fields = ("cart_id", "customer_id", "account_id", "dc", "quantity")
        cells = [str(hold[k] if hold[k] is not None else "-") for k in fields]
        cells += [hold["first_held_at"].isoformat(), hold["expires_at"].isoformat()]
        typer.echo("\t".join(cells))


@dead_app.command("list")
def dead_letters_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100, as_json: AsJson = False
) -> None:
    """Dead letters, newest first."""
    from orderly.messaging.deadletters import list_dead_letters

    settings = _settings()

    async def work(dbs: dict[str, Database]) -> list[dict[str, Any]]:
        found = [letter for db in dbs.values() for letter in await list_dead_letters(db, limit)]
        found.sort(key=lambda letter: letter["failed_at"], reverse=True)
        return found[:limit]

    letters = _run(settings, work)
    if as_json:
        terminal.document(letters)
        return
    fields = ("id", "context", "consumer", "type", "attempts", "failed_at", "replayed_at")
    rows = [
        [*(str(letter[f] if letter[f] is not None else "-") for f in fields), letter["error"][:80]]
        for letter in letters
    ]
    columns = ("id", "context", "consumer", "type", "attempts", "failed at", "replayed at")
    terminal.table(*columns, "error", rows=rows)


DeadLetterId = Annotated[str, typer.Argument(help="The dead letter's id, or its first characters.")]


@dead_app.command("show")
def dead_letters_show(dead_letter_id: DeadLetterId, as_json: AsJson = False) -> None:
    """One dead letter with its message."""
    from orderly.messaging.deadletters import find_dead_letter

    settings = _settings()
    dead_letter_id = _one_id(
        settings, "dead letter", prefixes.DEAD_LETTERS, dead_letter_id, list(settings.contexts)
    )

    async def work(dbs: dict[str, Database]) -> dict[str, Any] | None:
        for db in dbs.values():
            letter = await find_dead_letter(db, dead_letter_id)
            if letter is not None:
                return letter
        return None

    letter = _run(settings, work)
    if letter is None:
        raise _fail(f"dead letter {dead_letter_id} does not exist")
    if as_json:
        terminal.document(letter)
    else:
        console.print_json(data=letter, default=str)


@dead_app.command("replay")
def dead_letters_replay(dead_letter_id: DeadLetterId) -> None:
    """Hand a dead letter back to its consumer; the running service retries it at once."""
    from orderly.kernel.errors import OrderlyError
    from orderly.messaging.deadletters import find_dead_letter, replay_dead_letter

    settings = _settings()
    dead_letter_id = _one_id(
        settings, "dead letter", prefixes.DEAD_LETTERS, dead_letter_id, list(settings.contexts)
    )

    async def work(dbs: dict[str, Database]) -> dict[str, Any] | None:
        for db in dbs.values():
            if await find_dead_letter(db, dead_letter_id) is not None:
                return await replay_dead_letter(db, dead_letter_id)
        return None

    try:
        replayed = _run(settings, work)
    except OrderlyError as error:
        raise _fail(error.detail) from None
    if replayed is None:
        raise _fail(f"dead letter {dead_letter_id} does not exist")
    console.print(f"replayed {dead_letter_id} to {replayed['consumer']}")


@users_app.command("create-operator")
def users_create_operator(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="The password.")],
) -> None:
    """Create an operator, or make an existing user one with this password (safe to repeat)."""
    from orderly.identity.users import create_operator
    from orderly.kernel.errors import OrderlyError

    settings = _context_settings("identity", "users")
    try:
        created = _run(
            settings,
            lambda dbs: create_operator(dbs["identity"], passwords_for(settings), email, password),
        )
    except OrderlyError as error:
        raise _fail(error.detail) from None
    console.print(f"operator {email} {'created' if created else 'updated'}")


accounts_app = typer.Typer(help="B2B pharmacy accounts.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create")
def accounts_create(
    account_id: Annotated[str, typer.Option("--id", help="Account number, like PH-45678.")],
    name: Annotated[str, typer.Option(help="The pharmacy's name.")],
    dea: Annotated[str, typer.Option(help="DEA registration number (check digit verified).")],
    dea_expires: Annotated[str, typer.Option(help="DEA registration expiry, YYYY-MM-DD.")],
    state_licence: Annotated[str, typer.Option(help="State pharmacy licence.")],
    admin_email: Annotated[str, typer.Option(help="E-mail of the account admin.")],
    admin_password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The account admin's password.")
    ],
    segment: Annotated[str, typer.Option(help="independent, chain, hospital, ...")] = "independent",
    dea_schedules: Annotated[str, typer.Option(help="Comma-separated, e.g. 2,2N,3,3N,4,5.")] = "",
    id_340b: Annotated[
        str | None, typer.Option("--340b-id", help="340B covered-entity ID.")
    ] = None,
    schedule_ii: Annotated[bool, typer.Option(help="May order Schedule II (CSOS).")] = False,
) -> None:
    """Create a B2B account with its DEA data and an account admin (safe to repeat)."""
    from orderly.identity.accounts import NewAccount, create_account
    from orderly.kernel.errors import OrderlyError

    settings = _context_settings("identity", "accounts")
    new = NewAccount(
        account_id=account_id,
        name=name,
        segment=segment,
        dea_number=dea,
        dea_schedules=[s.strip() for s in dea_schedules.split(",") if s.strip()],
        dea_expires_on=dea_expires,
        state_licence=state_licence,
        id_340b=id_340b,
        can_order_schedule_ii=schedule_ii,
        admin_email=admin_email,
        admin_password=admin_password,
    )
    try:
        created = _run(
            settings, lambda dbs: create_account(dbs["identity"], passwords_for(settings), new)
        )
    except (OrderlyError, ValueError) as error:
        raise _fail(str(getattr(error, "detail", error))) from None
    console.print(f"account {account_id} {'created' if created else 'already exists'}")


keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a new key; tokens signed before stay valid until they expire."""
    from orderly.identity.tokens import KeyRing

    settings = _context_settings("identity", "keys")
    kid = _run(settings, lambda dbs: KeyRing(dbs["identity"]).rotate())
    console.print(f"signing with key {kid}; servers pick it up within seconds")


def main() -> None:
    app()
