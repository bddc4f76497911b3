"""Fulfillment tables and queries."""

import re
from functools import lru_cache

import sqlalchemy as sa

from orderly.storage import Statement, sql

metadata = sa.MetaData()

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False, unique=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("items", sa.JSON(), nullable=False),
    sa.Column("shipping_address", sa.JSON(), nullable=False),
    sa.Column("tracking_number", sa.String(64)),
    sa.Column("carrier", sa.String(64)),
    sa.Column("shipped_at", sa.DateTime(timezone=True)),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("delivery_location", sa.String(200)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("owner_id", sa.String(36)),
    sa.Column("account_id", sa.String(36)),
    sa.Index("shipments_owner", "owner_id", "created_at"),
)

COLUMNS = (
    "id, order_id, status, items, shipping_address, tracking_number, carrier,"
    " shipped_at, delivered_at, delivery_location, created_at, updated_at, owner_id, account_id"
)
INSERT = sql(
    "INSERT INTO shipments (id, order_id, status, items, shipping_address, created_at,"
    " updated_at, owner_id, account_id)"
    " VALUES (:id, :order_id, :status, :items, :shipping_address, :at, :at, :owner_id, :account_id)"
    " ON CONFLICT (order_id) DO NOTHING"
)
GET = sql(f"SELECT {COLUMNS} FROM shipments WHERE id = :id")
BY_ORDER = sql(f"SELECT {COLUMNS} FROM shipments WHERE order_id = :order_id")
_OWN = "(owner_id = :owner_id OR (account_id IS NOT NULL AND account_id = :account_id))"


@lru_cache(maxsize=64)
def listing(*, own: bool, statuses: frozenset[str]) -> Statement:
    """Shipments newest first: the caller's (`own`) or all, of any of `statuses` (none: all).
    The statuses are written in as constants: they are the machine's names, never the
    caller's text."""
    where = [_OWN] if own else []
    if statuses:
        assert all(re.fullmatch(r"[A-Z_]+", status) for status in statuses), statuses
        quoted = ", ".join(f"'{status}'" for status in sorted(statuses))
        where.append(f"status IN ({quoted})")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return sql(
        f"SELECT {COLUMNS} FROM shipments{condition} ORDER BY created_at DESC, id LIMIT :limit"
    )


SHIP = sql(
    "UPDATE shipments SET status = :status, tracking_number = :tracking_number,"
    " carrier = :carrier, shipped_at = :at, updated_at = :at WHERE id = :id AND status = :expected"
)
DELIVER = sql(
    "UPDATE shipments SET status = :status, delivered_at = :delivered_at,"
    " delivery_location = :delivery_location, updated_at = :at"
    " WHERE id = :id AND status = :expected"
)
SET_STATUS = sql(
    "UPDATE shipments SET status = :status, updated_at = :at"
    " WHERE order_id = :order_id AND status = :expected"
)
