"""SQLite: the WAL reaches the database file beside the writer, not inside its commits."""

import shutil
import sqlite3
from pathlib import Path

from orderly.storage import open_database, sql
from orderly.storage.migrations import migrate
from orderly.storage.sqlite import sqlite_path
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
