"""`orderly outbox` and `orderly dead-letters`: messages waiting to go out, and those no
consumer could handle."""

from typing import Annotated, Any

import typer

from orderly.entrypoints.cli import deployment, prefixes, terminal
from orderly.entrypoints.cli.terminal import AsJson, console, fail
from orderly.storage import Database

outbox_app = typer.Typer(help="The transactional outbox.", no_args_is_help=True)
dead_app = typer.Typer(help="Messages no consumer could handle.", no_args_is_help=True)


@outbox_app.command("status")
def outbox_status_command(as_json: AsJson = False) -> None:
    """Messages waiting in each context's outbox."""
    from orderly.messaging.relay import outbox_status

    settings = deployment.settings()

    async def work(dbs: dict[str, Database]) -> list[dict[str, Any]]:
        return [await outbox_status(db) for db in dbs.values()]

    found = deployment.run(settings, work)
    if as_json:
        terminal.document(found)
        return
    rows = [
        [str(r["context"]), str(r["pending"]), str(r["published"]), str(r["oldest_pending"] or "-")]
        for r in found
    ]
    terminal.table("context", "pending", "published", "oldest pending", rows=rows)


@dead_app.command("list")
def dead_letters_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100, as_json: AsJson = False
) -> None:
    """Dead letters, newest first."""
    from orderly.messaging.deadletters import list_dead_letters

    settings = deployment.settings()

    async def work(dbs: dict[str, Database]) -> list[dict[str, Any]]:
        found = [letter for db in dbs.values() for letter in await list_dead_letters(db, limit)]
        found.sort(key=lambda letter: letter["failed_at"], reverse=True)
        return found[:limit]

    letters = deployment.run(settings, work)
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

    settings = deployment.settings()
    dead_letter_id = deployment.one_id(
        settings, "dead letter", prefixes.DEAD_LETTERS, dead_letter_id, list(settings.contexts)
    )

    async def work(dbs: dict[str, Database]) -> dict[str, Any] | None:
        for db in dbs.values():
            letter = await find_dead_letter(db, dead_letter_id)
            if letter is not None:
                return letter
        return None

    letter = deployment.run(settings, work)
    if letter is None:
        raise fail(f"dead letter {dead_letter_id} does not exist")
    if as_json:
        terminal.document(letter)
    else:
        console.print_json(data=letter, default=str)


@dead_app.command("replay")
def dead_letters_replay(dead_letter_id: DeadLetterId) -> None:
    """Hand a dead letter back to its consumer; the running service retries it at once."""
    from orderly.kernel.errors import OrderlyError
    from orderly.messaging.deadletters import find_dead_letter, replay_dead_letter

    settings = deployment.settings()
    dead_letter_id = deployment.one_id(
        settings, "dead letter", prefixes.DEAD_LETTERS, dead_letter_id, list(settings.contexts)
    )

    async def work(dbs: dict[str, Database]) -> dict[str, Any] | None:
        for db in dbs.values():
            if await find_dead_letter(db, dead_letter_id) is not None:
                return await replay_dead_letter(db, dead_letter_id)
        return None

    try:
        replayed = deployment.run(settings, work)
    except OrderlyError as error:
        raise fail(error.detail) from None
    if replayed is None:
        raise fail(f"dead letter {dead_letter_id} does not exist")
    console.print(f"replayed {dead_letter_id} to {replayed['consumer']}")
