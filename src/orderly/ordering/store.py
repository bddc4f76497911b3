"""Ordering tables and queries, and the writes that take a one-statement form on PostgreSQL."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from orderly.messaging import Envelope, along_with, emit, emit_along
from orderly.messaging.tables import BigId
from orderly.ordering.domain import Line
from orderly.sagas.store import define as define_saga_tables
from orderly.storage import Database, Row, Tx, sql

metadata = sa.MetaData()

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("shipping_address", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("owner_id", sa.String(36)),
    sa.Column("account_id", sa.String(36)),
    sa.Column("channel", sa.String(16), nullable=False, server_default="direct"),
    sa.Column("total_cents", sa.BigInteger()),
    sa.Column("currency", sa.String(3)),
    sa.Column("payment_method", sa.String(80)),
    sa.Column("cart_id", sa.String(36)),
    sa.Column("reverify", sa.Boolean(), nullable=False, server_default=sa.false()),
    # B2B (seed 000): the ERP's sales order number once confirmed; why its checkout failed
    sa.Column("sales_order_number", sa.String(32)),
    sa.Column("failure", sa.JSON()),
    sa.Index("orders_owner", "owner_id", "created_at"),
    sa.Index("orders_account", "account_id", "created_at"),
    # an operator's list, newest first, and of one status (ordering/listing.py)
    sa.Index("orders_created", "created_at"),
    sa.Index("orders_status", "status", "created_at"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("product_id", sa.String(64), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("unit_price_cents", sa.BigInteger()),
)

# What the order was credited for units that will not ship (`order.credited`), once per
# cause: a short pick's line cancellation, or a cancelled backorder.
order_credits = sa.Table(
    "order_credits",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("product_id", sa.String(64), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("amount_cents", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("order_credits_order", "order_id"),
)

order_history = sa.Table(
    "order_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("details", sa.JSON(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("order_history_order", "order_id", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON()),  # none yet: the first request is still running
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("order_id", sa.String(36)),
)

# The last ATP inventory answered per product: the guarded flow's fallback while its
# circuit breaker is open.
atp_snapshots = sa.Table(
    "atp_snapshots",
    metadata,
    sa.Column("product_id", sa.String(64), primary_key=True),
    sa.Column("available", sa.BigInteger(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

define_saga_tables(metadata)

# Ordering's copy of the catalog's names, list prices and DEA schedules (from
# product.created/updated): an order is priced and checked without asking another service.
order_products = sa.Table(
    "order_products",
    metadata,
    sa.Column("product_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("price_cents", sa.BigInteger()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dea_schedule", sa.String(4)),  # CII..CV, or none
)

carts = sa.Table(
    "carts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner_id", sa.String(36), nullable=False),
    sa.Column("account_id", sa.String(36)),
    sa.Column("status", sa.String(16), nullable=False),  # open, or checked_out
    sa.Column("order_id", sa.String(36)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("segment", sa.String(32)),  # the account's, as its owner's token said
    sa.Index(
        "carts_one_open",
        "owner_id",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
)

cart_items = sa.Table(
    "cart_items",
    metadata,
    sa.Column("cart_id", sa.String(36), sa.ForeignKey("carts.id"), primary_key=True),
    sa.Column("product_id", sa.String(64), primary_key=True),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)

_ORDER_COLUMNS = (
    "id, status, shipping_address, created_at, updated_at, version, owner_id, account_id,"
    " channel, total_cents, currency, payment_method, cart_id, reverify, sales_order_number,"
    " failure"
)
_INSERT_ORDER = (
    "INSERT INTO orders"
    " (id, status, shipping_address, created_at, updated_at, version, owner_id, account_id,"
    " channel, total_cents, currency, payment_method, cart_id, reverify)"
    " VALUES (:id, :status, :shipping_address, :at, :at, 1, :owner_id, :account_id,"
    " :channel, :total_cents, :currency, :payment_method, :cart_id, :reverify)"
)
INSERT_ORDER = sql(_INSERT_ORDER)
INSERT_ITEM = sql(
    "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)"
    " VALUES (:order_id, :line_no, :product_id, :quantity, :unit_price_cents)"
)
INSERT_HISTORY = sql(
    "INSERT INTO order_history (order_id, status, details, at)"
    " VALUES (:order_id, :status, :details, :at)"
)
# PostgreSQL: the order, its lines, its first history entry and `order.created`, in one
# statement (one round trip instead of five; atomic without a transaction around it).
PLACE_ORDER_PG = along_with(
    f"o AS ({_INSERT_ORDER}),"
    " i AS (INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)"
    " SELECT :id, line.n, line.product_id, line.quantity, line.price FROM unnest("
    "CAST(:line_nos AS integer[]), CAST(:product_ids AS text[]), CAST(:quantities AS bigint[]),"
    " CAST(:unit_prices AS bigint[])) AS line(n, product_id, quantity, price)),"
    " h AS (INSERT INTO order_history (order_id, status, details, at)"
    " VALUES (:id, :status, :details, :at))"
)
GET_ORDER = sql(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = :id")
# The order and how many history entries it has: with its lines (written with it, never
# changed) and its history (only ever added to), that count names what they are.
GET_ORDER_ENTRIES = sql(
    f"SELECT {_ORDER_COLUMNS}, (SELECT count(*) FROM order_history h WHERE h.order_id = :id)"
    " AS entries FROM orders WHERE id = :id"
)
GET_ITEMS = sql(
    "SELECT product_id, quantity, unit_price_cents FROM order_items WHERE order_id = :id"
    " ORDER BY line_no"
)
INSERT_CREDIT = sql(
    "INSERT INTO order_credits (id, order_id, product_id, quantity, amount_cents, reason,"
    " created_at) VALUES (:id, :order_id, :product_id, :quantity, :amount_cents, :reason, :at)"
    " ON CONFLICT (id) DO NOTHING"
)
GET_HISTORY = sql("SELECT status, details, at FROM order_history WHERE order_id = :id ORDER BY id")
# A page of orders' lines, and their histories, each in one statement.
ITEMS_OF_ORDERS = sql(
    "SELECT order_id, product_id, quantity, unit_price_cents FROM order_items"
    " WHERE order_id IN :ids ORDER BY order_id, line_no",
    lists=["ids"],
)
HISTORY_OF_ORDERS = sql(
    "SELECT order_id, status, details, at FROM order_history WHERE order_id IN :ids"
    " ORDER BY order_id, id",
    lists=["ids"],
)
UPDATE_STATUS = sql(
    "UPDATE orders SET status = :status, updated_at = :at, version = version + 1"
    " WHERE id = :id AND version = :version"
)
# PostgreSQL: the move and its history entry in one round trip (and, with ANNOUNCED, the
# message that tells it); no row if the order changed meanwhile.
_MOVED = (
    "moved AS (UPDATE orders SET status = :status, updated_at = :at, version = version + 1"
    " WHERE id = :id AND version = :version RETURNING id)"
)
_HISTORY_OF_MOVED = (
    "INSERT INTO order_history (order_id, status, details, at)"
    " SELECT id, :status, :details, :at FROM moved"
)
MOVE_PG = sql(f"WITH {_MOVED} {_HISTORY_OF_MOVED}")
# PostgreSQL: a B2C order moved in one round trip when the machine allows it from where the
# order is (`sources`); no row otherwise, and the caller reads the order to find out why.
ADVANCE_B2C_PG = sql(
    "WITH moved AS (UPDATE orders SET status = :status, updated_at = :at, version = version + 1"
    " WHERE id = :id AND channel = 'b2c' AND status = ANY(CAST(:sources AS text[]))"
    f" RETURNING id) {_HISTORY_OF_MOVED}"
)
MOVE_ANNOUNCED_PG = along_with(f"{_MOVED}, entry AS ({_HISTORY_OF_MOVED})", when="moved")
CLAIM_IDEMPOTENCY_KEY = sql(
    "INSERT INTO idempotency_keys (key, fingerprint, response, created_at, order_id)"
    " VALUES (:key, :fingerprint, :response, :at, :order_id) ON CONFLICT (key) DO NOTHING"
)
GET_IDEMPOTENCY_KEY = sql(
    "SELECT fingerprint, response, created_at, order_id FROM idempotency_keys WHERE key = :key"
)
REPLACE_IDEMPOTENCY_KEY = sql(
    "UPDATE idempotency_keys SET fingerprint = :fingerprint, response = :response,"
    " created_at = :at, order_id = :order_id WHERE key = :key"
)
SET_IDEMPOTENT_RESPONSE = sql("UPDATE idempotency_keys SET response = :response WHERE key = :key")
PRUNE_IDEMPOTENCY_KEYS = sql("DELETE FROM idempotency_keys WHERE created_at < :before")

UPSERT_PRODUCT = sql(
    "INSERT INTO order_products (product_id, sku, name, price_cents, dea_schedule, updated_at)"
    " VALUES (:product_id, :sku, :name, :price_cents, :dea_schedule, :at)"
    " ON CONFLICT (product_id) DO UPDATE SET sku = excluded.sku, name = excluded.name,"
    " price_cents = excluded.price_cents, dea_schedule = excluded.dea_schedule,"
    " updated_at = excluded.updated_at"
)
GET_PRODUCT = sql(
    "SELECT product_id, sku, name, price_cents, dea_schedule FROM order_products"
    " WHERE product_id = :product_id"
)

OPEN_CART = sql(
    "SELECT id, owner_id, account_id, status FROM carts WHERE owner_id = :owner_id"
    " AND status = 'open'"
)
NEW_CART = sql(
    "INSERT INTO carts (id, owner_id, account_id, segment, status, created_at, updated_at)"
    " VALUES (:id, :owner_id, :account_id, :segment, 'open', :at, :at)"
    " ON CONFLICT DO NOTHING"
)
# The cart an order was checked out from: a cancelled, unpaid order gives its lines back.
SPENT_CART = sql(
    "SELECT id, owner_id, account_id, segment FROM carts WHERE id = :id AND order_id = :order_id"
)
TOUCH_CART = sql("UPDATE carts SET updated_at = :at WHERE id = :id")
CHECK_OUT_CART = sql(
    "UPDATE carts SET status = 'checked_out', order_id = :order_id, updated_at = :at"
    " WHERE id = :id AND status = 'open'"
)
CART_ITEMS = sql(
    "SELECT c.product_id, c.quantity, p.name, p.sku, p.price_cents FROM cart_items c"
    " LEFT JOIN order_products p ON p.product_id = c.product_id"
    " WHERE c.cart_id = :cart_id ORDER BY c.added_at, c.product_id"
)
CART_ITEM = sql(
    "SELECT quantity FROM cart_items WHERE cart_id = :cart_id AND product_id = :product_id"
)
UPSERT_CART_ITEM = sql(
    "INSERT INTO cart_items (cart_id, product_id, quantity, added_at)"
    " VALUES (:cart_id, :product_id, :quantity, :at)"
    " ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = excluded.quantity"
)
DELETE_CART_ITEM = sql(
    "DELETE FROM cart_items WHERE cart_id = :cart_id AND product_id = :product_id"
)
SET_REVERIFIED = sql("UPDATE orders SET reverify = :reverify WHERE id = :id")
AWAITING_APPROVAL = sql(
    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE account_id = :account_id AND status = :status"
    " ORDER BY created_at LIMIT :limit"
)
SET_OUTCOME = sql(
    "UPDATE orders SET sales_order_number = :sales_order_number, failure = :failure WHERE id = :id"
)
UPSERT_SNAPSHOT = sql(
    "INSERT INTO atp_snapshots (product_id, available, at) VALUES (:product_id, :available, :at)"
    " ON CONFLICT (product_id) DO UPDATE SET available = excluded.available, at = excluded.at"
)
GET_SNAPSHOT = sql("SELECT available, at FROM atp_snapshots WHERE product_id = :product_id")


async def place(
    tx: Tx,
    order: dict[str, Any],
    lines: Sequence[Line],
    prices: Sequence[int | None],
    created: Envelope,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the order (`INSERT_ORDER`'s parameters), its lines at `prices`, its first
    history entry (with `details`) and `created`: on PostgreSQL in one statement."""
    details = details or {}
    if tx.dialect == "postgresql":
        numbered = {
            "line_nos": list(range(1, len(lines) + 1)),
            "product_ids": [line.product_id for line in lines],
            "quantities": [line.quantity for line in lines],
            "unit_prices": list(prices),
        }
        await emit_along(tx, PLACE_ORDER_PG, {**order, **numbered, "details": details}, created)
        return
    await tx.execute(INSERT_ORDER, order)
    await tx.execute_many(
        INSERT_ITEM,
        [
            {
                "order_id": order["id"],
                "line_no": n,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price_cents": price,
            }
            for n, (line, price) in enumerate(zip(lines, prices, strict=True), start=1)
        ],
    )
    await tx.execute(
        INSERT_HISTORY,
        {"order_id": order["id"], "status": order["status"], "details": details, "at": order["at"]},
    )
    await emit(tx, created)


async def move(
    tx: Tx,
    order_id: str,
    version: int,
    status: str,
    details: dict[str, Any],
    at: datetime,
    announce: Envelope | None = None,
) -> bool:
    """Move the order at `version` to `status`, with its history entry (and `announce`);
    False if the order changed meanwhile (nothing is written)."""
    moved = {"id": order_id, "status": status, "at": at, "version": version}
    if tx.dialect == "postgresql":
        if announce is None:
            return bool(await tx.execute(MOVE_PG, {**moved, "details": details}))
        return await emit_along(tx, MOVE_ANNOUNCED_PG, {**moved, "details": details}, announce)
    if not await tx.execute(UPDATE_STATUS, moved):
        return False
    await tx.execute(
        INSERT_HISTORY, {"order_id": order_id, "status": status, "details": details, "at": at}
    )
    if announce is not None:
        await emit(tx, announce)
    return True


async def advance_b2c(
    tx: Tx, order_id: str, status: str, sources: list[str], details: dict[str, Any], at: datetime
) -> bool:
    """PostgreSQL: move a B2C order that is in one of `sources` to `status`, with its history
    entry, without reading it first. False when it did not (or, elsewhere, was not tried):
    the caller reads the order to find out why."""
    if tx.dialect != "postgresql":
        return False
    advance = {"id": order_id, "status": status, "sources": sources, "details": details, "at": at}
    return bool(await tx.execute(ADVANCE_B2C_PG, advance))


async def order_and_entries(db: Database, order_id: str) -> Row | None:
    """`GET_ORDER_ENTRIES`, one statement: on PostgreSQL without BEGIN and COMMIT around it
    (a statement sees one snapshot by itself)."""

    async def work(tx: Tx) -> Row | None:
        return await tx.fetch_one(GET_ORDER_ENTRIES, {"id": order_id})

    return await (db.autocommit(work) if db.dialect == "postgresql" else db.read(work))
