"""The raw limits: what the bare libraries do on this machine, with the same durability."""

import asyncio
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.services import AMQP_URL, create_pg_database, drop_pg_database

__all__ = [
    "AMQP_URL",
    "aio_pika_latency",
    "aio_pika_round_trip",
    "asyncpg_commits",
    "sqlite_commits",
]


def _sqlite(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return conn


def sqlite_commits(n: int) -> float:
    """Plain sqlite3, one small transaction per commit, WAL + synchronous=FULL."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = _sqlite(Path(tmp) / "raw.db")
        started = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (body) VALUES (?)", (f"message {i}",))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return n / elapsed


def sqlite_grouped_commits(n: int, batch: int = 500) -> float:
    """Plain sqlite3 rows/s when `batch` rows share a commit: the ceiling group commit aims at."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = _sqlite(Path(tmp) / "raw.db")
        started = time.perf_counter()
        for start in range(0, n, batch):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO t (body) VALUES (?)",
                [(f"message {i}",) for i in range(start, start + batch)],
            )
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return n / elapsed


@asynccontextmanager
async def _quorum_queue() -> AsyncIterator[tuple[Any, str, Any]]:
    """A quorum queue of its own: a channel publishing with confirms, the queue's name, and
    the queue on a consuming channel (prefetch 256); deleted afterwards."""
    import aio_pika

    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        name = f"bench.raw.{uuid.uuid4().hex[:8]}"
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=256)
        yield channel, name, await consumer_channel.get_queue(name, ensure=False)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


async def aio_pika_round_trip(n: int, window: int = 100) -> float:
    """aio-pika alone: persistent publishes with confirms in windows, consumed with acks."""
    import aio_pika

    async with _quorum_queue() as (channel, name, consumer_queue):
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received >= n:
                done.set()

        await consumer_queue.consume(on_message)
        body = b'{"event_type": "bench", "data": {}}'
        started = time.perf_counter()
        for start in range(0, n, window):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=name,
                    )
                    for _ in range(min(window, n - start))
                )
            )
        await done.wait()
        elapsed = time.perf_counter() - started
    return n / elapsed


async def aio_pika_latency(n: int, rate: float) -> list[float]:
    """aio-pika alone: a persistent message published with a confirm, `rate` a second, and
    consumed; each one's seconds from the publish to the consumer having it."""
    import aio_pika

    async with _quorum_queue() as (channel, name, consumer_queue):
        sent: dict[str, float] = {}
        took: list[float] = []
        done = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            took.append(time.perf_counter() - sent[str(message.message_id)])
            await message.ack()
            if len(took) >= n:
                done.set()

        await consumer_queue.consume(on_message)
        started = time.perf_counter()

        async def one(i: int) -> None:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            message_id = uuid.uuid4().hex
            sent[message_id] = time.perf_counter()
            body = aio_pika.Message(
                b"{}", message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await channel.default_exchange.publish(body, routing_key=name)

        await asyncio.gather(*(one(i) for i in range(n)))
        await done.wait()
    return took


async def asyncpg_commits(n: int, concurrency: int) -> float:
    """asyncpg alone: one-row transactions from `concurrency` tasks, synchronous_commit=on."""
    import asyncpg  # type: ignore[import-untyped]

    url = await create_pg_database()
    try:
        pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
        await pool.execute("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)")
        per_task = n // concurrency

        async def worker() -> None:
            async with pool.acquire() as conn:
                for i in range(per_task):
                    async with conn.transaction():
                        await conn.execute("INSERT INTO t (body) VALUES ($1)", f"message {i}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await pool.close()
    finally:
        await drop_pg_database(url)
    return per_task * concurrency / elapsed
