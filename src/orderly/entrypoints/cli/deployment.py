"""What a command works on: the deployment's settings and databases."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from orderly.config import ConfigError, Settings, load_settings
from orderly.entrypoints.cli import prefixes
from orderly.entrypoints.cli.terminal import fail
from orderly.startup import StartupError, migrate_all, open_databases
from orderly.storage import Database, Statement

T = TypeVar("T")


def settings(**overrides: Any) -> Settings:
    try:
        loaded = load_settings(**overrides)
    except ConfigError as error:
        raise fail(str(error), 2) from None
    return loaded


def of_context(context: str, what: str) -> Settings:
    """Settings for a command that works in `context`'s database, migrated first."""
    loaded = settings()
    if context not in loaded.contexts:
        raise fail(f"{what} live in the {context} context, which is not configured", 2)
    migrate(loaded)
    return loaded


def run(settings: Settings, work: Callable[[dict[str, Database]], Awaitable[T]]) -> T:
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
        raise fail(str(error), 2) from None


def migrate(settings: Settings) -> None:
    try:
        asyncio.run(migrate_all(settings))
    except StartupError as error:
        raise fail(str(error), 2) from None


def one_id(
    settings: Settings, what: str, table: Statement, prefix: str, contexts: list[str]
) -> str:
    """The id that `prefix` names in `contexts`' `table`; a clear error if none or several."""

    async def work(dbs: dict[str, Database]) -> list[str]:
        return await prefixes.ids_starting_with([dbs[c] for c in contexts], table, prefix)

    try:
        return prefixes.the_one(what, prefix, run(settings, work))
    except prefixes.PrefixError as error:
        raise fail(str(error)) from None
