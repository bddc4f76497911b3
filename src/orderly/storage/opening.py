"""Opening a context's database from the deployment's URL."""

from orderly.storage.database import Database
from orderly.storage.postgres import PostgresDatabase
from orderly.storage.sqlite import SqliteDatabase, sqlite_path


async def open_database(url: str, name: str, *, pool_size: int = 10) -> Database:
    """Open context `name`'s database from a `sqlite:///dir` or `postgresql://` URL; on
    PostgreSQL with at most `pool_size` connections."""
    if url.startswith("sqlite"):
        return await SqliteDatabase.open(sqlite_path(url, name), name)
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url, name, max_size=pool_size)
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")
