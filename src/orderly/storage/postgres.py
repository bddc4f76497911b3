"""PostgreSQL over asyncpg: one pool per context, each context in its own schema."""

import asyncio
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import orjson
import structlog
from prometheus_client import Counter

from orderly.observability import DATABASE_ROUND_TRIPS
from orderly.storage.database import Params, Row, StorageUnavailable, Work
from orderly.storage.statements import Statement, positional

T = TypeVar("T")
log = structlog.get_logger(__name__)
CLOSE_TIMEOUT = 10.0


# Errors that mean the server is gone or going, not that the statement was wrong.
_UNREACHABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release: Orderly keeps no session state (no LISTEN,
    advisory locks or SET) beyond the pool's own settings, and the query costs a round trip
    per transaction."""


class PostgresTx:
    __slots__ = ("_conn", "_trips", "committed", "wrote_outbox")
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection, trips: Counter) -> None:
        self._conn = conn
        self._trips = trips
        self.wrote_outbox = False
        self.committed: list[Callable[[], None]] | None = None

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self.committed is None:
            self.committed = []
        self.committed.append(callback)

    async def execute(self, stmt: Statement, params: Params | None = None) -> int:
        text, names = stmt.compiled("postgresql")
        self._trips.inc()
        status: str = await self._conn.execute(text, *positional(names, params))
        return _rowcount(status)

    async def execute_many(self, stmt: Statement, rows: Sequence[Params]) -> None:
        text, names = stmt.compiled("postgresql")
        self._trips.inc()
        await self._conn.executemany(text, [positional(names, row) for row in rows])

    async def fetch_one(self, stmt: Statement, params: Params | None = None) -> Row | None:
        text, names = stmt.compiled("postgresql")
        self._trips.inc()
        record = await self._conn.fetchrow(text, *positional(names, params))
        return None if record is None else dict(record)

    async def fetch_all(self, stmt: Statement, params: Params | None = None) -> list[Row]:
        text, names = stmt.compiled("postgresql")
        self._trips.inc()
        return [dict(r) for r in await self._conn.fetch(text, *positional(names, params))]


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, name: str, pool: "asyncpg.Pool[Any]") -> None:
        self.name = name
        self._pool = pool
        self._trips = DATABASE_ROUND_TRIPS.labels(name)
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    async def open(cls, url: str, name: str, *, max_size: int = 10) -> "PostgresDatabase":
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=max_size,
            init=_init_connection,
            reset=_keep_session,
            server_settings={"search_path": name, "synchronous_commit": "on"},
        )
        return cls(name, pool)

    def version(self) -> None:
        return None

    def on_commit(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def transaction(self, work: Work[T]) -> T:
        return await self._write(work, explicit=True)

    async def autocommit(self, work: Work[T]) -> T:
        return await self._write(work, explicit=False)

    async def _write(self, work: Work[T], *, explicit: bool) -> T:
        try:
            async with (
                self._pool.acquire() as conn,
                conn.transaction() if explicit else nullcontext(),
            ):
                tx = PostgresTx(conn, self._trips)
                if explicit:
                    self._trips.inc(2)  # BEGIN and COMMIT
                result = await work(tx)
        except _UNREACHABLE as error:
            raise StorageUnavailable(f"database {self.name} is unreachable") from error
        if tx.committed:
            for callback in tx.committed:
                callback()
        if tx.wrote_outbox:
            for listener in self._listeners:
                listener()
        return result

    async def read(self, work: Work[T]) -> T:
        try:
            async with (
                self._pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                self._trips.inc(2)  # BEGIN and COMMIT
                return await work(PostgresTx(conn, self._trips))
        except _UNREACHABLE as error:
            raise StorageUnavailable(f"database {self.name} is unreachable") from error

    async def close(self) -> None:
        """Close the pool; connections not given back in time (a task cancelled mid-way at
        shutdown) are cut rather than waited for forever."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._pool.close()
        except TimeoutError:
            log.warning("database pool did not close in time; terminating", database=self.name)
            self._pool.terminate()
