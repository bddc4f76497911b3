"""SQLite: one writer connection that folds concurrent units of work into one commit.

Every acknowledged unit of work is on disk (`synchronous=FULL`, WAL). Throughput comes from
group commit: units that arrive while a commit is being flushed wait for the next one, and
each batch pays for a single fsync. Each unit runs inside its own SAVEPOINT, so a unit that
fails rolls back alone while the rest of its batch commits.

The writer never checkpoints in its commits: SQLite's automatic checkpoint would run inside
the commit that crosses its threshold, copying the WAL into the database file and syncing it
while every unit queued behind that commit waits (tens of milliseconds under load). A
checkpoint runs beside the writer instead, on a connection of its own in a thread, a little
after writes; only if the WAL still outgrows `WAL_LIMIT` frames does the writer checkpoint
between two batches.
"""

import asyncio
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import structlog

from orderly import tracing
from orderly.kernel.aio import wait_or_timeout
from orderly.storage.database import Params, Row, Work
from orderly.storage.statements import Statement

T = TypeVar("T")

log = structlog.get_logger(__name__)

MAX_BATCH = 512
CHECKPOINT_EVERY = 1.0  # seconds between the starts of two background checkpoints
WAL_LIMIT = 16_384  # frames (pages): past this the writer checkpoints between batches
# Checkpoints get threads of their own, so that they never hold up a commit waiting for one.
_CHECKPOINTS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-checkpoint")

# The method itself, not a function around it: a B2B order binds about eighty times, and a
# Python frame and `timespec` cost twice the formatting. A time on a whole second is written
# without its fraction, and still sorts in place: "…:05+00:00" < "…:05.000001+00:00".
sqlite3.register_adapter(datetime, datetime.isoformat)
sqlite3.register_adapter(dict, lambda value: orjson.dumps(value).decode())
sqlite3.register_adapter(list, lambda value: orjson.dumps(value).decode())
sqlite3.register_converter("DATETIME", lambda raw: datetime.fromisoformat(raw.decode()))
sqlite3.register_converter("JSON", orjson.loads)
sqlite3.register_converter("BOOLEAN", lambda raw: raw != b"0")


def sqlite_path(url: str, name: str) -> Path:
    """`sqlite:///var` keeps each context in `var/<name>.db`."""
    directory = url.removeprefix("sqlite:").removeprefix("//").removeprefix("/") or "var"
    if url.startswith("sqlite:////"):
        directory = "/" + directory
    return Path(directory) / f"{name}.db"


def make_private(path: Path) -> None:
    """Create the database file at `path` (and its folder) readable by its owner only, and
    take back any wider access an existing one, or its WAL and shared-memory files, has: they
    hold password hashes, signing keys and TOTP secrets. SQLite gives the WAL and shm files it
    creates the database file's mode. A folder that already exists keeps its mode: it may be
    one the operator shares with other things."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(mode & 0o700)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _connect(path: Path, *, writer: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        detect_types=sqlite3.PARSE_DECLTYPES,
        cached_statements=512,
    )
    conn.row_factory = _dict_row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    if writer:
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # a WAL that started over is cut back to this size (bytes, at 4 KiB pages)
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT * 4096}")
    return conn


def _checkpoint(conn: sqlite3.Connection, mode: str) -> Row:
    row: Row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return row


class SqliteTx:
    __slots__ = ("_conn", "committed", "wrote_outbox")
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.wrote_outbox = False
        self.committed: list[Callable[[], None]] | None = None

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self.committed is None:
            self.committed = []
        self.committed.append(callback)

    async def execute(self, stmt: Statement, params: Params | None = None) -> int:
        return self._conn.execute(stmt.sqlite, params or {}).rowcount

    async def execute_many(self, stmt: Statement, rows: Sequence[Params]) -> None:
        self._conn.executemany(stmt.sqlite, rows)

    async def fetch_one(self, stmt: Statement, params: Params | None = None) -> Row | None:
        row: Row | None = self._conn.execute(stmt.sqlite, params or {}).fetchone()
        return row

    async def fetch_all(self, stmt: Statement, params: Params | None = None) -> list[Row]:
        return self._conn.execute(stmt.sqlite, params or {}).fetchall()


class _Unit:
    __slots__ = ("future", "span", "work")

    def __init__(
        self, work: Work[Any], future: asyncio.Future[Any], span: tracing.Span | None
    ) -> None:
        self.work = work
        self.future = future
        self.span = span


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(
        self,
        path: Path,
        name: str,
        writer: sqlite3.Connection,
        *,
        checkpoint_every: float = CHECKPOINT_EVERY,
    ) -> None:
        self.name = name
        self.checkpoint_every = checkpoint_every
        self.path = path
        self._writer = writer
        self._readers: deque[sqlite3.Connection] = deque()
        self._pending: deque[_Unit] = deque()
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self._closing = asyncio.Event()  # set once, by close()
        self._checkpointer: sqlite3.Connection | None = None
        self._watcher: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointed_at = 0.0
        self._wal_grew = False
        self._wal_too_long = False
        # kept: asking for the running loop costs a system call each time
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._write_loop(), name=f"sqlite-writer:{name}")

    @property
    def _closed(self) -> bool:
        return self._closing.is_set()

    @classmethod
    async def open(
        cls, path: Path, name: str, *, checkpoint_every: float = CHECKPOINT_EVERY
    ) -> "SqliteDatabase":
        make_private(path)
        return cls(path, name, _connect(path, writer=True), checkpoint_every=checkpoint_every)

    def on_commit(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def version(self) -> int:
        """SQLite's `data_version` on a connection that never writes: it changes with every
        commit made on another connection, the writer's and other processes' alike."""
        if self._watcher is None:
            self._watcher = _connect(self.path)
        row = self._watcher.execute("PRAGMA data_version").fetchone()
        return int(row["data_version"])

    async def transaction(self, work: Work[T]) -> T:
        if self._closed:
            raise RuntimeError(f"database {self.name} is closed")
        future: asyncio.Future[T] = self._loop.create_future()
        span = tracing.current() if tracing.ON else None
        self._pending.append(_Unit(work, future, span))
        self._wake.set()
        return await future

    async def autocommit(self, work: Work[T]) -> T:
        # in process, BEGIN and COMMIT cost no round trip: nothing to save
        return await self.transaction(work)

    async def read(self, work: Work[T]) -> T:
        conn = self._readers.pop() if self._readers else _connect(self.path)
        try:
            conn.execute("BEGIN")
            try:
                return await work(SqliteTx(conn))
            finally:
                conn.execute("COMMIT")
        finally:
            self._readers.append(conn)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                try:
                    await self._commit_batch(batch)
                except Exception as error:  # BEGIN failed, or the connection broke
                    if self._writer.in_transaction:
                        self._writer.execute("ROLLBACK")
                    for unit in batch:
                        if not unit.future.done():
                            unit.future.set_exception(error)
                if self._wal_too_long:
                    await self._checkpoint_in_writer()
            if self._closed:
                return

    async def _commit_batch(self, batch: list[_Unit]) -> None:
        conn = self._writer
        live = [unit for unit in batch if not unit.future.cancelled()]
        conn.execute("BEGIN IMMEDIATE")
        outcomes, failure = await self._run_units(live, isolated=False)
        if failure is not None and len(live) == 1:
            conn.execute("ROLLBACK")
            live[0].future.set_exception(failure)
            return
        if failure is not None:
            # A unit failed: undo the whole batch and run it again, each unit in a savepoint,
            # so the failure stays its own. Failures are rare; the fast path pays nothing.
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            outcomes, _ = await self._run_units(live, isolated=True)
        done = [(unit, result) for unit, result, error in outcomes if error is None]
        for unit, _, error in outcomes:
            if error is not None:
                unit.future.set_exception(error)
        try:
            await self._loop.run_in_executor(None, conn.execute, "COMMIT")
        except Exception as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for unit, _ in done:
                if not unit.future.done():
                    unit.future.set_exception(error)
            return
        self._checkpoint_soon()
        wrote_outbox = False
        for unit, (result, tx) in done:
            wrote_outbox = wrote_outbox or tx.wrote_outbox
            if tx.committed:
                for callback in tx.committed:
                    callback()
            if not unit.future.done():
                unit.future.set_result(result)
        if wrote_outbox:
            for listener in self._listeners:
                listener()

    def _checkpoint_soon(self) -> None:
        self._wal_grew = True
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.create_task(
                self._checkpoints(), name=f"sqlite-checkpoint:{self.name}"
            )

    async def _checkpoints(self) -> None:
        """While commits keep coming: one checkpoint at a time, at most one per
        `checkpoint_every` seconds, and one after the last commit."""
        loop = asyncio.get_running_loop()
        while self._wal_grew and not self._closed:
            self._wal_grew = False
            wait = self._checkpointed_at + self.checkpoint_every - loop.time()
            if wait > 0:
                # closing cuts the wait short: SQLite checkpoints as the last connection closes
                await wait_or_timeout(self._closing, wait)
                if self._closed:
                    return
            self._checkpointed_at = loop.time()
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file without holding up the
        writer (PASSIVE: it takes no lock a writer or reader waits on)."""
        if self._checkpointer is None:
            self._checkpointer = _connect(self.path)
        row = await self._run_checkpoint(self._checkpointer, "PASSIVE", _CHECKPOINTS)
        if row is None:
            return
        # Frames written while a checkpoint copies are left for the next one; the WAL starts
        # over once one copies everything. Under writes that never pause it may not.
        self._wal_too_long = row["log"] > WAL_LIMIT and row["checkpointed"] < row["log"]

    async def _checkpoint_in_writer(self) -> None:
        self._wal_too_long = False
        await self._run_checkpoint(self._writer, "RESTART", None)

    async def _run_checkpoint(
        self, conn: sqlite3.Connection, mode: str, executor: ThreadPoolExecutor | None
    ) -> Row | None:
        """`PRAGMA wal_checkpoint(mode)` on `conn` in a thread: its (busy, log, checkpointed)
        row, or None if it failed (logged; the next one tries again)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(
                executor, _checkpoint, conn, mode
            )
        except sqlite3.Error as error:
            log.warning("sqlite checkpoint failed", database=self.name, error=str(error))
            return None

    async def _run_units(
        self, units: list[_Unit], *, isolated: bool
    ) -> tuple[list[tuple[_Unit, Any, Exception | None]], Exception | None]:
        """Run each unit. Without isolation, stop at the first failure and return it."""
        conn = self._writer
        outcomes: list[tuple[_Unit, Any, Exception | None]] = []
        for unit in units:
            tx = SqliteTx(conn)
            if isolated:
                conn.execute("SAVEPOINT unit")
            # the caller's span is current while its work runs in the writer's task
            token = None if unit.span is None else tracing.enter(unit.span)
            try:
                result = await unit.work(tx)
            except Exception as error:
                if not isolated:
                    return outcomes, error
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                outcomes.append((unit, None, error))
                continue
            finally:
                if token is not None:
                    tracing.leave(token)
            if isolated:
                conn.execute("RELEASE unit")
            outcomes.append((unit, (result, tx), None))
        return outcomes, None

    async def close(self) -> None:
        if self._closed:
            return
        self._closing.set()
        self._wake.set()
        await self._task
        if self._checkpointing is not None:
            await self._checkpointing
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._watcher is not None:
            self._watcher.close()
        self._writer.close()
        while self._readers:
            self._readers.pop().close()
