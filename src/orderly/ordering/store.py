"""Ordering tables and queries."""

from orderly.storage import sql

INSERT_ORDER = sql(
    "INSERT INTO orders (id, status, shipping_address, created_at, updated_at, version)"
    " VALUES (:id, :status, :shipping_address, :at, :at, 1)"
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
    "SELECT id, status, shipping_address, created_at, updated_at, version"
    " FROM orders WHERE id = :id"
)
LIST_ORDERS = sql(
    "SELECT id, status, created_at, updated_at FROM orders"
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
