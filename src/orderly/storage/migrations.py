"""Brings each context's database to its newest schema with Alembic, one history per context."""

import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from orderly.storage.sqlite import make_private, sqlite_path

_SCRIPT_LOCATION = Path(__file__).parent / "alembic"


def _config(context_name: str) -> Config:
    package = importlib.import_module(f"orderly.{context_name}")
    versions = Path(package.__file__ or "").parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.set_main_option("version_locations", str(versions))
    config.set_main_option("path_separator", "os")
    return config


def _upgrade(config: Config, connection: sa.Connection, schema: str | None) -> None:
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


async def migrate(url: str, context_name: str) -> None:
    """Create or upgrade `context_name`'s tables in the database `url` points at."""
    config = _config(context_name)
    if url.startswith("sqlite"):
        path = sqlite_path(url, context_name)
        make_private(path)
        engine = sa.create_engine(f"sqlite:///{path}")
        try:
            with engine.begin() as connection:
                _upgrade(config, connection, None)
        finally:
            engine.dispose()
        return
    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
        "postgres://", "postgresql+asyncpg://", 1
    )
    async_engine = create_async_engine(async_url)
    try:
        async with async_engine.begin() as connection:
            await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{context_name}"'))
            await connection.execute(sa.text(f'SET search_path TO "{context_name}"'))
            await connection.run_sync(lambda sync: _upgrade(config, sync, context_name))
    finally:
        await async_engine.dispose()
