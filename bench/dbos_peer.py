"""The peer: the same B2C checkout saga written with DBOS, a durable-workflow library.

One workflow per checkout, each of its steps checkpointed by DBOS: create the order
(pending), reserve the stock (refused if short), charge the payment (the same simulated
gateway: a token approves), and mark the order processing. Application tables and the
DBOS system tables live in one database: a SQLite file (WAL, `synchronous=FULL`, as
Orderly's) or a PostgreSQL database (`synchronous_commit=on`, as Orderly's).

Run as its own process (DBOS is a process-wide singleton):
    python -m bench.dbos_peer sqlite|postgresql N   → prints {"rate", "p50_ms", "p99_ms"}
"""

import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

CLIENTS = 32
STOCK = 10**9

_local = threading.local()


def _sqlite_engine(path: str) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", pool_size=CLIENTS + 8, max_overflow=8)

    @sa.event.listens_for(engine, "connect")
    def durable(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=FULL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    return engine


class App:
    """The checkout's own tables, reached with plain drivers."""

    def __init__(self, connect: Callable[[], Any], placeholder: str) -> None:
        self._connect = connect
        self.p = placeholder

    @contextmanager
    def tx(self) -> Iterator[Any]:
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = _local.conn = self._connect()
        cursor = conn.cursor()
        try:
            if isinstance(conn, sqlite3.Connection):
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def setup(self) -> None:
        with self.tx() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS peer_orders (id VARCHAR(36) PRIMARY KEY,"
                " status VARCHAR(16) NOT NULL, total_cents BIGINT NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS peer_stock (product_id VARCHAR(36) PRIMARY KEY,"
                " available BIGINT NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS peer_payments (order_id VARCHAR(36) PRIMARY KEY,"
                " status VARCHAR(16) NOT NULL, amount_cents BIGINT NOT NULL)"
            )
            cur.execute(
                f"INSERT INTO peer_stock (product_id, available) VALUES ({self.p}, {self.p})",
                ("P1", STOCK),
            )


def run(kind: str, n: int) -> dict[str, float]:
    from dbos import DBOS, DBOSConfig

    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            path = f"{tmp}/peer.db"
            config: DBOSConfig = {
                "name": "checkout-peer",
                "system_database_url": f"sqlite:///{path}",
                "system_database_engine": _sqlite_engine(path),
                "log_level": "WARNING",
            }

            def connect() -> Any:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA busy_timeout=30000")
                conn.isolation_level = ""  # explicit BEGIN per transaction
                return conn

            app = App(connect, "?")
        else:
            import psycopg

            url = sys.argv[3]
            config = {
                "name": "checkout-peer",
                "system_database_url": url,
                "sys_db_pool_size": CLIENTS + 8,
                "log_level": "WARNING",
            }
            app = App(lambda: psycopg.connect(url), "%s")
        app.setup()

        @DBOS.step()
        def create_order(order_id: str, cents: int) -> None:
            with app.tx() as cur:
                cur.execute(
                    f"INSERT INTO peer_orders (id, status, total_cents) VALUES"
                    f" ({app.p}, 'pending', {app.p})",
                    (order_id, cents),
                )

        @DBOS.step()
        def reserve(product_id: str, quantity: int) -> bool:
            with app.tx() as cur:
                cur.execute(
                    f"UPDATE peer_stock SET available = available - {app.p}"
                    f" WHERE product_id = {app.p} AND available >= {app.p}",
                    (quantity, product_id, quantity),
                )
                return bool(cur.rowcount)

        @DBOS.step()
        def charge(order_id: str, token: str, cents: int) -> bool:
            approved = token.startswith("tok_") and token != "tok_decline"
            with app.tx() as cur:
                cur.execute(
                    f"INSERT INTO peer_payments (order_id, status, amount_cents) VALUES"
                    f" ({app.p}, {app.p}, {app.p})",
                    (order_id, "captured" if approved else "failed", cents),
                )
            return approved

        @DBOS.step()
        def release(product_id: str, quantity: int) -> None:
            with app.tx() as cur:
                cur.execute(
                    f"UPDATE peer_stock SET available = available + {app.p}"
                    f" WHERE product_id = {app.p}",
                    (quantity, product_id),
                )

        @DBOS.step()
        def finish(order_id: str, status: str) -> None:
            with app.tx() as cur:
                cur.execute(
                    f"UPDATE peer_orders SET status = {app.p} WHERE id = {app.p}",
                    (status, order_id),
                )

        @DBOS.workflow()
        def checkout(order_id: str, product_id: str, quantity: int, token: str) -> str:
            cents = 4999 * quantity
            create_order(order_id, cents)
            if not reserve(product_id, quantity):
                finish(order_id, "cancelled")
                return "cancelled"
            if not charge(order_id, token, cents):
                release(product_id, quantity)
                finish(order_id, "cancelled")
                return "cancelled"
            finish(order_id, "processing")
            return "processing"

        DBOS(config=config)
        DBOS.launch()
        try:
            latencies: list[float] = []

            def one() -> None:
                started = time.perf_counter()
                outcome = checkout(str(uuid.uuid4()), "P1", 1, "tok_visa")
                assert outcome == "processing"
                latencies.append(time.perf_counter() - started)

            for _ in range(CLIENTS):  # warm the pools
                one()
            latencies.clear()
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                for future in [pool.submit(one) for _ in range(n)]:
                    future.result()
            elapsed = time.perf_counter() - started
        finally:
            DBOS.destroy()
    ordered = sorted(latencies)
    return {
        "rate": n / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]))))
