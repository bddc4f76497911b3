"""Inventory: ATP reads and hard reservations per second, on SQLite and on PostgreSQL.

32 concurrent callers over 50 products, each reservation its own transaction that locks
the product, reads its lots and reservations, decides and writes (the full command, as the
order.created handler runs it). Compared with the raw commit limit of the same database
measured in the same run."""

import asyncio
import random
import tempfile
import time

from orderly.inventory import handlers, service
from orderly.inventory.service import Line, Receipt
from orderly.kernel.ids import new_id
from orderly.storage import Database, open_database
from orderly.storage.migrations import migrate
from tests.messages import product_created
from tests.services import create_pg_database, drop_pg_database

CONCURRENCY = 32
PRODUCTS = 50


async def _stock(db: Database, units: int) -> list[str]:
    products = []
    for n in range(PRODUCTS):
        product_id = new_id()
        created = product_created(product_id, f"B{n}")
        await db.transaction(lambda tx, m=created: handlers.add_item_on_product_created(tx, m))
        for lot in range(3):
            await service.receive(db, Receipt(product_id, units, f"L{lot}", None))
        products.append(product_id)
    return products


async def _hammer(n: int, call: "object") -> float:
    per_task = n // CONCURRENCY

    async def worker() -> None:
        for _ in range(per_task):
            await call()  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return per_task * CONCURRENCY / (time.perf_counter() - started)


async def _measure(url: str, n: int) -> tuple[float, float]:
    await migrate(url, "inventory")
    db = await open_database(url, "inventory")
    try:
        products = await _stock(db, n)

        async def read() -> None:
            await service.check_availability(db, [(random.choice(products), 1)])

        async def reserve() -> None:
            line = [Line("1", random.choice(products), 1)]
            await db.transaction(lambda tx: service.hard_reserve(tx, new_id(), line))

        reads = await _hammer(n, read)
        reservations = await _hammer(n, reserve)
    finally:
        await db.close()
    return reads, reservations


async def sqlite(n: int) -> tuple[float, float]:
    """(ATP reads/s, reservations/s) on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        return await _measure(f"sqlite:///{tmp}", n)


async def postgres(n: int) -> tuple[float, float]:
    """(ATP reads/s, reservations/s) on PostgreSQL."""
    url = await create_pg_database()
    try:
        return await _measure(url, n)
    finally:
        await drop_pg_database(url)
