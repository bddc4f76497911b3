"""Ordering tables and queries."""

import sqlalchemy as sa

from orderly.messaging.tables import BigId
from orderly.storage import sql

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
    sa.Index("orders_owner", "owner_id", "created_at"),
    sa.Index("orders_account", "account_id", "created_at"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("product_id", sa.String(64), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
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
    sa.Column("response", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

INSERT_ORDER = sql(
    "INSERT INTO orders"
    " (id, status, shipping_address, created_at, updated_at, version, owner_id, account_id)"
    " VALUES (:id, :status, :shipping_address, :at, :at, 1, :owner_id, :account_id)"
)
INSERT_ITEM = sql(
    "INSERT INTO order_items (order_id, line_no, product_id, quantity)"
    " VALUES (:order_id, :line_no, :product_id, :quantity)"
)
INSERT_HISTORY = sql(
    "INSERT INTO order_history (order_id, status, details, at)"
    " VALUES (:order_id, :status, :details, :at)"
)
GET_ORDER = sql(
    "SELECT id, status, shipping_address, created_at, updated_at, version, owner_id, account_id"
    " FROM orders WHERE id = :id"
)
LIST_ORDERS = sql(
    "SELECT id, status, created_at, updated_at FROM orders"
    " ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"
)
LIST_OWN_ORDERS = sql(
    "SELECT id, status, created_at, updated_at FROM orders"
    " WHERE owner_id = :owner_id OR (account_id IS NOT NULL AND account_id = :account_id)"
    " ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"
)
GET_ITEMS = sql(
    "SELECT product_id, quantity FROM order_items WHERE order_id = :id ORDER BY line_no"
)
GET_HISTORY = sql("SELECT status, details, at FROM order_history WHERE order_id = :id ORDER BY id")
UPDATE_STATUS = sql(
    "UPDATE orders SET status = :status, updated_at = :at, version = version + 1"
    " WHERE id = :id AND version = :version"
)
CLAIM_IDEMPOTENCY_KEY = sql(
    "INSERT INTO idempotency_keys (key, fingerprint, response, created_at)"
    " VALUES (:key, :fingerprint, :response, :at) ON CONFLICT (key) DO NOTHING"
)
GET_IDEMPOTENCY_KEY = sql("SELECT fingerprint, response FROM idempotency_keys WHERE key = :key")
