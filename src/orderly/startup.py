"""What every command that works on a deployment does first: bring each context's database to
its newest schema and open it, or say in one line why it cannot. Kept apart from `bootstrap`,
which imports every context, so that a command that only reads or writes a few tables starts
without loading the web layer."""

from orderly.config import Settings, redact
from orderly.storage import Database, open_database
from orderly.storage.migrations import migrate


class StartupError(RuntimeError):
    """Orderly cannot start; the message is one line for the operator."""


async def migrate_all(settings: Settings) -> None:
    for name in settings.contexts:
        try:
            await migrate(settings.database_url, name)
        except Exception as error:
            raise StartupError(unreachable("database", settings.database_url, error)) from None


def unreachable(what: str, url: str, error: BaseException) -> str:
    """One line for the operator: what could not be used, where (no password), and why."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return f"cannot use the {what} at {redact(url)}: {reason}"


async def open_databases(settings: Settings) -> dict[str, Database]:
    databases: dict[str, Database] = {}
    try:
        for name in settings.contexts:
            databases[name] = await open_database(
                settings.database_url, name, pool_size=settings.database_pool_size
            )
    except Exception as error:
        for db in databases.values():
            await db.close()
        raise StartupError(unreachable("database", settings.database_url, error)) from None
    return databases
