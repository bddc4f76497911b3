"""Each context's migrations produce exactly the SQLAlchemy Core tables its code declares, and
processes that migrate at once upgrade each schema once."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from orderly.bootstrap import context_specs
from orderly.config import ALL_CONTEXTS
from orderly.messaging import tables as messaging_tables
from orderly.storage.migrations import alembic_config, head, migrate
from orderly.storage.sqlite import sqlite_path
from tests.conftest import needs_services
from tests.services import create_pg_database, drop_pg_database


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


@pytest.mark.parametrize("context", ALL_CONTEXTS)
def test_the_newest_script_names_the_head_alembic_finds(context: str) -> None:
    """A database at the newest file's revision is left alone, unread by Alembic: that file
    must be Alembic's one head, or a pending migration would never run."""
    scripts = ScriptDirectory.from_config(alembic_config(context))
    assert scripts.get_heads() == [head(context)]
    for script in scripts.walk_revisions():
        assert script.path is not None
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


async def test_a_database_behind_the_newest_script_is_upgraded(database_url: str) -> None:
    """The quick look at the version table sees a database a revision behind, and Alembic
    brings it to the head."""
    context = "inventory"
    newest = head(context)
    behind = f"{context}_{int(newest.removeprefix(context + '_')) - 1:04d}"
    await migrate(database_url, context, to=behind)
    assert await revision(database_url, context) == behind
    await migrate(database_url, context)
    assert await revision(database_url, context) == newest
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(f"sqlite:///{sqlite_path(database_url, context)}")
        with engine.connect() as connection:
            assert differences(connection, context) == []
        engine.dispose()


async def revision(database_url: str, context: str) -> str:
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(f"sqlite:///{sqlite_path(database_url, context)}")
        with engine.connect() as connection:
            found = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
        engine.dispose()
        return str(found)
    async_engine = create_async_engine(
        database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    async with async_engine.connect() as connection:
        found = await connection.scalar(
            sa.text(f'SELECT version_num FROM "{context}".alembic_version')
        )
    await async_engine.dispose()
    return str(found)


@needs_services
@pytest.mark.distributed
def test_processes_migrating_at_once_upgrade_once_and_all_start() -> None:
    # three processes of a new deployment start together on a new database: each context's
    # tables are made once, by whichever process takes its lock first; the others find them
    url = asyncio.run(create_pg_database())
    try:
        env = {
            **os.environ,
            "ORDERLY_DATABASE_URL": url,
            "ORDERLY_CONTEXTS": ",".join(ALL_CONTEXTS),
        }
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "orderly", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        for process in started:
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0, output.decode(errors="replace")[-2000:]
        assert asyncio.run(revisions(url)) == {context: [head(context)] for context in ALL_CONTEXTS}
    finally:
        asyncio.run(drop_pg_database(url))


async def revisions(url: str) -> dict[str, list[str]]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    found = {}
    async with engine.connect() as connection:
        for context in ALL_CONTEXTS:
            rows = await connection.execute(
                sa.text(f'SELECT version_num FROM "{context}".alembic_version')
            )
            found[context] = [row[0] for row in rows.all()]
    await engine.dispose()
    return found
