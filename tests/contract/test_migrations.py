"""Each context's migrations produce exactly the SQLAlchemy Core tables its code declares."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from orderly.bootstrap import context_specs
from orderly.config import ALL_CONTEXTS
from orderly.messaging import tables as messaging_tables
from orderly.storage.migrations import migrate
from orderly.storage.sqlite import sqlite_path


def declared(context: str) -> sa.MetaData:
    combined = sa.MetaData()
    for source in (messaging_tables.metadata, context_specs()[context].tables):
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined


def differences(connection: sa.Connection, context: str) -> list[object]:
    migration = MigrationContext.configure(connection, opts={"compare_type": True})
    diffs = compare_metadata(migration, declared(context))
    return [
        d
        for d in diffs
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


@pytest.mark.parametrize("context", ALL_CONTEXTS)
async def test_migrations_match_the_declared_tables(database_url: str, context: str) -> None:
    await migrate(database_url, context)
    await migrate(database_url, context)  # running it again changes nothing
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(f"sqlite:///{sqlite_path(database_url, context)}")
        with engine.connect() as connection:
            assert differences(connection, context) == []
        engine.dispose()
        return
    async_engine = create_async_engine(
        database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    async with async_engine.connect() as connection:
        await connection.execute(sa.text(f'SET search_path TO "{context}"'))
        assert await connection.run_sync(lambda sync: differences(sync, context)) == []
    await async_engine.dispose()
