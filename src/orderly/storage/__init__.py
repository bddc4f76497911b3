"""Databases: SQLite with group commit and PostgreSQL over asyncpg, behind one `Database` port."""

from orderly.storage.database import Database, Params, Row, StorageUnavailable, Tx
from orderly.storage.opening import open_database
from orderly.storage.statements import Statement, sql

__all__ = [
    "Database",
    "Params",
    "Row",
    "Statement",
    "StorageUnavailable",
    "Tx",
    "open_database",
    "sql",
]
