"""Brings each context's database to its newest schema with Alembic, one history per context.

A context's revisions are named after their files (`inventory_0007` in
`inventory_0007_accounts.py`), one after another, so the newest file names the head. A database
already there is left alone without loading Alembic and every migration script: a server
starts a little sooner, and every process of a deployment checks its context on start."""

import importlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from orderly.storage.sqlite import make_private, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPT_LOCATION = Path(__file__).parent / "alembic"


def versions(context_name: str) -> Path:
    """The folder of `context_name`'s migration scripts."""
    package = importlib.import_module(f"orderly.{context_name}")
    return Path(package.__file__ or "").parent / "migrations"


def head(context_name: str) -> str:
    """The newest revision of `context_name`, from its scripts' names."""
    newest = max(versions(context_name).glob(f"{context_name}_[0-9][0-9][0-9][0-9]_*.py"))
    return newest.name[: len(context_name) + 5]


def alembic_config(context_name: str) -> "Config":
    """Alembic's configuration for `context_name`'s history."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.set_main_option("version_locations", str(versions(context_name)))
    config.set_main_option("path_separator", "os")
    return config


def _upgrade(config: "Config", connection: sa.Connection, schema: str | None, to: str) -> None:
    from alembic import command

    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, to)


def _sqlite_revision(path: Path) -> str | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table yet
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


async def migrate(url: str, context_name: str, to: str = "head") -> None:
    """Create or upgrade `context_name`'s tables in the database `url` points at, to its
    newest revision or to the revision `to`."""
    target = head(context_name) if to == "head" else to
    if url.startswith("sqlite"):
        path = sqlite_path(url, context_name)
        make_private(path)
        if _sqlite_revision(path) == target:
            return
        engine = sa.create_engine(f"sqlite:///{path}")
        try:
            with engine.begin() as connection:
                _upgrade(alembic_config(context_name), connection, None, to)
        finally:
            engine.dispose()
        return
    # SQLAlchemy's asyncio extension loads its ORM (0.1 s), needed here only
    from sqlalchemy.ext.asyncio import create_async_engine

    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
        "postgres://", "postgresql+asyncpg://", 1
    )
    async_engine = create_async_engine(async_url)
    try:
        async with async_engine.begin() as connection:
            # processes starting at once (replicas, a restarted deployment) migrate one at a
            # time: the first upgrades, the others then find the revision there and return
            await connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"orderly.migrate.{context_name}"},
            )
            exists = await connection.scalar(
                sa.text("SELECT to_regclass(:table)"),
                {"table": f'"{context_name}".alembic_version'},
            )
            if exists is not None:
                current = await connection.scalar(
                    sa.text(f'SELECT max(version_num) FROM "{context_name}".alembic_version')
                )
                if current == target:
                    return
            await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{context_name}"'))
            await connection.execute(sa.text(f'SET search_path TO "{context_name}"'))
            await connection.run_sync(
                lambda sync: _upgrade(alembic_config(context_name), sync, context_name, to)
            )
    finally:
        await async_engine.dispose()
