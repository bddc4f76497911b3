"""SQLite: the WAL reaches the database file beside the writer, not inside its commits."""

import asyncio
import shutil
import sqlite3
from pathlib import Path

from orderly.storage import open_database, sql
from orderly.storage.migrations import migrate
from orderly.storage.sqlite import SqliteDatabase, sqlite_path
from tests.waiting import eventually

CREATE = sql("CREATE TABLE probes (id VARCHAR(36) PRIMARY KEY, n INTEGER NOT NULL)")
INSERT = sql("INSERT INTO probes (id, n) VALUES (:id, :n)")


def _rows_in_file_alone(path: Path, snapshot: Path) -> int:
    """How many probes the database file holds without its WAL: a copy of the file alone."""
    shutil.copyfile(path, snapshot)
    conn = sqlite3.connect(snapshot)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM probes").fetchone()[0])
    except sqlite3.DatabaseError:  # not there yet, or copied halfway through a checkpoint
        return -1
    finally:
        conn.close()


async def test_a_few_commits_reach_the_database_file_without_a_close(tmp_path: Path) -> None:
    # Far fewer pages than SQLite's own threshold (1,000) for checkpointing in a commit.
    url = f"sqlite:///{tmp_path}/var"
    await migrate(url, "ordering")
    db = await open_database(url, "ordering")
    try:
        await db.transaction(lambda tx: tx.execute(CREATE))
        for n in range(20):
            await db.transaction(lambda tx, n=n: tx.execute(INSERT, {"id": f"p{n}", "n": n}))

        async def copied() -> bool:
            path = sqlite_path(url, "ordering")
            return _rows_in_file_alone(path, tmp_path / "snapshot.db") == 20

        await eventually(copied, within=10)
    finally:
        await db.close()


async def test_closing_does_not_wait_for_the_next_checkpoint(tmp_path: Path) -> None:
    """A checkpoint waiting for its turn gives way to a close: a server stops at once, not
    after the pause between two checkpoints (here an hour)."""
    db = await SqliteDatabase.open(tmp_path / "probe.db", "probe", checkpoint_every=3600)
    await db.transaction(lambda tx: tx.execute(CREATE))
    for n in range(3):  # the first commit's checkpoint runs; the next ones wait their turn
        await db.transaction(lambda tx, n=n: tx.execute(INSERT, {"id": f"p{n}", "n": n}))
    await asyncio.wait_for(db.close(), timeout=60)
    conn = sqlite3.connect(tmp_path / "probe.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM probes").fetchone()[0] == 3
    finally:
        conn.close()
