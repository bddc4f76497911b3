"""The peer: the same B2C checkout written with DBOS, a durable-workflow library, served over
HTTP as Orderly is, so that one client measures both from the request to the paid order.

It does the work Orderly's checkout does, written the way DBOS is meant to be used: the
request is authenticated (an ES256 bearer token, verified once and then remembered, as
Orderly's servers remember theirs), its body validated, its prices read, and one workflow
started under the order's id; the answer goes out once DBOS has recorded the workflow and its
input. The workflow has a step for each step of seed 002 Flow 3, each one transaction
checkpointed by DBOS: create the order (`pending`, with its lines, first history entry and
shipment), reserve the stock, confirm the order, charge the payment (the same simulated
gateway: a token approves), and move the order to `processing` (releasing its shipment). A
short stock cancels the order; a declined payment gives the stock back and cancels it. The
rows are the ones Orderly writes for the same checkout.

The application tables and DBOS's system tables live in one database: a SQLite file (WAL,
`synchronous=FULL`, as Orderly's) or a PostgreSQL database (`synchronous_commit=on`, as
Orderly's). The server is uvicorn on uvloop and httptools, as Orderly's; its endpoints are the
ones the checkout bench calls (`POST /api/v1/products`, `POST /api/v1/orders`,
`GET /api/v1/orders`), with Orderly's request and answer shapes.

Run as its own process (DBOS is a process-wide singleton):
    python -m bench.dbos_peer PORT PUBLIC_KEY_PEM_FILE DATABASE_URL
"""

import json
import queue
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

AUDIENCE = "orderly-bench-peer"
# Threads that run workflows, and connections to match; within PostgreSQL's 100 connections
# beside DBOS's own pool.
WORKERS = 40


class Item(BaseModel):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1_000_000)


class Address(BaseModel):
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)


class PlaceOrder(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=100)
    shipping_address: Address
    payment_method: str = Field(min_length=1, max_length=64)
    channel: str = "b2c"


class NewProduct(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=64)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    stock: int = Field(ge=0)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class App:
    """The checkout's own tables, reached with plain drivers through a pool of `WORKERS`
    connections."""

    def __init__(self, connect: Callable[[], Any], placeholder: str, serial: str) -> None:
        self._connect = connect
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._made = 0
        self._making = threading.Lock()
        self.p = placeholder
        self.serial = serial

    def _take(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            with self._making:
                fresh = self._made < WORKERS
                self._made += fresh
            return self._connect() if fresh else self._idle.get()

    @contextmanager
    def tx(self) -> Iterator[Any]:
        conn = self._take()
        try:
            cursor = conn.cursor()
            try:
                if isinstance(conn, sqlite3.Connection):
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        finally:
            self._idle.put(conn)

    def q(self, statement: str) -> str:
        """`statement` with `?` placeholders in the driver's style."""
        return statement.replace("?", self.p)

    def setup(self) -> None:
        with self.tx() as cur:
            for ddl in (
                "CREATE TABLE peer_products (id VARCHAR(36) PRIMARY KEY, name TEXT NOT NULL,"
                " sku TEXT NOT NULL UNIQUE, price_cents BIGINT NOT NULL)",
                "CREATE TABLE peer_stock (product_id VARCHAR(36) PRIMARY KEY,"
                " available BIGINT NOT NULL)",
                "CREATE TABLE peer_reservations (order_id VARCHAR(36), product_id VARCHAR(36),"
                " quantity BIGINT NOT NULL, PRIMARY KEY (order_id, product_id))",
                "CREATE TABLE peer_orders (id VARCHAR(36) PRIMARY KEY, owner_id TEXT NOT NULL,"
                " status VARCHAR(16) NOT NULL, channel TEXT NOT NULL, shipping_address TEXT"
                " NOT NULL, payment_method TEXT NOT NULL, total_cents BIGINT NOT NULL,"
                " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INT NOT NULL)",
                "CREATE INDEX peer_orders_owner ON peer_orders (owner_id, created_at)",
                "CREATE TABLE peer_order_items (order_id VARCHAR(36), line_no INT,"
                " product_id VARCHAR(36) NOT NULL, quantity BIGINT NOT NULL,"
                " unit_price_cents BIGINT NOT NULL, PRIMARY KEY (order_id, line_no))",
                f"CREATE TABLE peer_order_history (id {self.serial}, order_id VARCHAR(36)"
                " NOT NULL, status VARCHAR(16) NOT NULL, at TEXT NOT NULL)",
                "CREATE TABLE peer_payments (order_id VARCHAR(36) PRIMARY KEY,"
                " status VARCHAR(16) NOT NULL, amount_cents BIGINT NOT NULL, token TEXT NOT NULL)",
                "CREATE TABLE peer_shipments (order_id VARCHAR(36) PRIMARY KEY,"
                " status VARCHAR(16) NOT NULL, updated_at TEXT NOT NULL)",
            ):
                cur.execute(ddl)


def _durable(conn: Any) -> Any:
    """SQLite with Orderly's durability: WAL, every commit synced."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _database(url: str) -> tuple[App, dict[str, Any]]:
    """The application's connections and DBOS's configuration, on one database."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        engine = sa.create_engine(url, pool_size=WORKERS, max_overflow=8)

        sa.event.listen(engine, "connect", lambda dbapi_conn, _: _durable(dbapi_conn))

        def connect() -> Any:
            conn = _durable(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
            conn.isolation_level = ""  # explicit BEGIN per transaction
            return conn

        config = {"system_database_url": url, "system_database_engine": engine}
        return App(connect, "?", "INTEGER PRIMARY KEY"), config

    import psycopg

    config = {"system_database_url": url, "sys_db_pool_size": WORKERS}
    return App(lambda: psycopg.connect(url), "%s", "BIGSERIAL PRIMARY KEY"), config


def serve(port: int, public_key: str, url: str) -> None:
    import uvicorn
    from dbos import DBOS, DBOSConfig, SetWorkflowID

    app, database = _database(url)
    app.setup()
    q = app.q

    def move(cur: Any, order_id: str, status: str, shipment: str | None = None) -> None:
        """The order to `status`, with its history entry (and its shipment to `shipment`)."""
        at = _now()
        cur.execute(
            q(
                "UPDATE peer_orders SET status = ?, updated_at = ?, version = version + 1"
                " WHERE id = ?"
            ),
            (status, at, order_id),
        )
        cur.execute(
            q("INSERT INTO peer_order_history (order_id, status, at) VALUES (?, ?, ?)"),
            (order_id, status, at),
        )
        if shipment is not None:
            cur.execute(
                q("UPDATE peer_shipments SET status = ?, updated_at = ? WHERE order_id = ?"),
                (shipment, at, order_id),
            )

    @DBOS.step()
    def create_order(order: dict[str, Any]) -> None:
        """The order `pending`, its lines, its first history entry and its shipment."""
        with app.tx() as cur:
            at = _now()
            cur.execute(
                q(
                    "INSERT INTO peer_orders (id, owner_id, status, channel, shipping_address,"
                    " payment_method, total_cents, created_at, updated_at, version)"
                    " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, 1)"
                ),
                (
                    order["id"],
                    order["owner_id"],
                    order["channel"],
                    json.dumps(order["shipping_address"]),
                    order["payment_method"],
                    order["total_cents"],
                    at,
                    at,
                ),
            )
            cur.executemany(
                q(
                    "INSERT INTO peer_order_items (order_id, line_no, product_id, quantity,"
                    " unit_price_cents) VALUES (?, ?, ?, ?, ?)"
                ),
                [
                    (order["id"], n, line["product_id"], line["quantity"], line["price"])
                    for n, line in enumerate(order["lines"], 1)
                ],
            )
            cur.execute(
                q("INSERT INTO peer_order_history (order_id, status, at) VALUES (?, ?, ?)"),
                (order["id"], "pending", at),
            )
            cur.execute(
                q("INSERT INTO peer_shipments (order_id, status, updated_at) VALUES (?, ?, ?)"),
                (order["id"], "pending", at),
            )

    @DBOS.step()
    def reserve(order_id: str, lines: list[dict[str, Any]]) -> bool:
        """Every line's stock reserved, or nothing taken."""
        try:
            with app.tx() as cur:
                for line in sorted(lines, key=lambda line: str(line["product_id"])):
                    cur.execute(
                        q(
                            "UPDATE peer_stock SET available = available - ?"
                            " WHERE product_id = ? AND available >= ?"
                        ),
                        (line["quantity"], line["product_id"], line["quantity"]),
                    )
                    if not cur.rowcount:
                        raise _Short  # undoes the lines already taken
                    cur.execute(
                        q(
                            "INSERT INTO peer_reservations (order_id, product_id, quantity)"
                            " VALUES (?, ?, ?)"
                        ),
                        (order_id, line["product_id"], line["quantity"]),
                    )
        except _Short:
            return False
        return True

    @DBOS.step()
    def advance(order_id: str, status: str, shipment: str | None = None) -> None:
        with app.tx() as cur:
            move(cur, order_id, status, shipment)

    @DBOS.step()
    def charge(order_id: str, token: str, cents: int) -> bool:
        approved = token.startswith("tok_") and token != "tok_decline"
        with app.tx() as cur:
            cur.execute(
                q(
                    "INSERT INTO peer_payments (order_id, status, amount_cents, token)"
                    " VALUES (?, ?, ?, ?)"
                ),
                (order_id, "captured" if approved else "failed", cents, token),
            )
        return approved

    @DBOS.step()
    def release_and_cancel(order_id: str) -> None:
        """The reserved stock given back, the order `cancelled`, its shipment cancelled."""
        with app.tx() as cur:
            cur.execute(
                q(
                    "UPDATE peer_stock SET available = available + r.quantity FROM"
                    " (SELECT product_id, quantity FROM peer_reservations WHERE order_id = ?)"
                    " AS r WHERE peer_stock.product_id = r.product_id"
                ),
                (order_id,),
            )
            cur.execute(q("DELETE FROM peer_reservations WHERE order_id = ?"), (order_id,))
            move(cur, order_id, "cancelled", "cancelled")

    @DBOS.workflow()
    def checkout(order: dict[str, Any]) -> str:
        """Seed 002 Flow 3, a step for each of its steps."""
        order_id = order["id"]
        create_order(order)  # step 1
        if not reserve(order_id, order["lines"]):  # step 2
            advance(order_id, "cancelled", "cancelled")  # step 3B
            return "cancelled"
        advance(order_id, "confirmed")  # step 3A
        if not charge(order_id, order["payment_method"], order["total_cents"]):  # step 4
            release_and_cancel(order_id)
            return "cancelled"
        advance(order_id, "processing", "released")
        return "processing"

    key = Path(public_key).read_text()
    known: dict[str, dict[str, Any]] = {}

    def caller(authorization: Annotated[str, Header()]) -> dict[str, Any]:
        scheme, _, token = authorization.partition(" ")
        claims = known.get(token)
        if claims is None:
            if scheme.lower() != "bearer":
                raise HTTPException(401, "bearer token required")
            try:
                claims = jwt.decode(token, key, algorithms=["ES256"], audience=AUDIENCE)
            except jwt.PyJWTError:
                raise HTTPException(401, "invalid token") from None
            known[token] = claims
        return claims

    api = FastAPI()

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/api/v1/products", status_code=201)
    def new_product(
        body: NewProduct, who: Annotated[dict[str, Any], Depends(caller)]
    ) -> dict[str, str]:
        if who.get("role") != "operator":
            raise HTTPException(403, "operators only")
        product_id = str(uuid.uuid4())
        with app.tx() as cur:
            cur.execute(
                q("INSERT INTO peer_products (id, name, sku, price_cents) VALUES (?, ?, ?, ?)"),
                (product_id, body.name, body.sku, int(body.price * 100)),
            )
            cur.execute(
                q("INSERT INTO peer_stock (product_id, available) VALUES (?, ?)"),
                (product_id, body.stock),
            )
        return {"id": product_id}

    @api.post("/api/v1/orders")
    def place(body: PlaceOrder, who: Annotated[dict[str, Any], Depends(caller)]) -> JSONResponse:
        wanted = sorted({item.product_id for item in body.items})
        with app.tx() as cur:
            cur.execute(
                q(
                    f"SELECT id, price_cents FROM peer_products WHERE id IN"
                    f" ({', '.join('?' for _ in wanted)})"
                ),
                wanted,
            )
            prices = dict(cur.fetchall())
        unknown = [product_id for product_id in wanted if product_id not in prices]
        if unknown:
            raise HTTPException(422, f"unknown products: {unknown}")
        lines = [
            {"product_id": i.product_id, "quantity": i.quantity, "price": prices[i.product_id]}
            for i in body.items
        ]
        order = {
            "id": str(uuid.uuid4()),
            "owner_id": who["sub"],
            "channel": body.channel,
            "shipping_address": body.shipping_address.model_dump(),
            "payment_method": body.payment_method,
            "lines": lines,
            "total_cents": sum(line["price"] * line["quantity"] for line in lines),
        }
        with SetWorkflowID(order["id"]):
            DBOS.start_workflow(checkout, order)
        return JSONResponse(
            {"order_id": order["id"], "status": "pending", "total_cents": order["total_cents"]},
            status_code=201,
        )

    @api.get("/api/v1/orders")
    def orders(
        who: Annotated[dict[str, Any], Depends(caller)],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT id, status, total_cents, created_at, updated_at FROM peer_orders"
                    " WHERE owner_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
                ),
                (who["sub"], limit, offset),
            )
            rows = cur.fetchall()
        return [
            {
                "order_id": r[0],
                "status": r[1],
                "total_cents": r[2],
                "created_at": r[3],
                "updated_at": r[4],
            }
            for r in rows
        ]

    config: DBOSConfig = {
        "name": "checkout-peer",
        "log_level": "WARNING",
        "max_executor_threads": WORKERS,
        **database,  # type: ignore[typeddict-item]
    }
    DBOS(config=config)
    DBOS.launch()
    try:
        uvicorn.run(
            api,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
    finally:
        DBOS.destroy()


class _Short(Exception):
    """Not enough stock for a line: the reservation step takes nothing."""


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
