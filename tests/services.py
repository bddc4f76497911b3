"""Where the real PostgreSQL and RabbitMQ are, and fresh, private places in them per test."""

import asyncio
import fcntl
import os
import socket
import tempfile
import uuid
from pathlib import Path
from typing import IO

PG_ADMIN_URL = os.environ.get(
    "ORDERLY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("ORDERLY_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_up() -> bool:
    return _reachable("127.0.0.1", 5432)


def broker_up() -> bool:
    return _reachable("127.0.0.1", 5672)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class _PostgresSlot:
    """PostgreSQL serves 100 connections (max_connections), and a distributed deployment's
    eleven processes hold up to 22 of them (tests/e2e/conftest.py's pools): parallel pytest
    workers (`-n`) make databases at most POSTGRES_SLOTS at a time. A process takes one of
    the host's slots (a lock file) with its first database and gives it back with its last;
    holding at most one and waiting only while it holds none, no two processes wait on each
    other."""

    SLOTS = 2

    def __init__(self) -> None:
        self.databases = 0
        self.lock: IO[bytes] | None = None

    async def take(self) -> None:
        self.databases += 1
        while self.lock is None:
            for slot in range(self.SLOTS):
                lock = (Path(tempfile.gettempdir()) / f"orderly-tests-postgres-{slot}.lock").open(
                    "ab"
                )
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock.close()
                    continue
                self.lock = lock
                break
            else:
                await asyncio.sleep(0.1)

    def give_back(self) -> None:
        self.databases -= 1
        if self.databases == 0 and self.lock is not None:
            self.lock.close()  # closing it unlocks it
            self.lock = None


POSTGRES_SLOTS = _PostgresSlot()


async def create_pg_database() -> str:
    import asyncpg

    await POSTGRES_SLOTS.take()
    name = unique("orderly_test")
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=30)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"', timeout=120)
        finally:
            await conn.close()
    except BaseException:
        POSTGRES_SLOTS.give_back()
        raise
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=30)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=120)
    finally:
        await conn.close()
        POSTGRES_SLOTS.give_back()
