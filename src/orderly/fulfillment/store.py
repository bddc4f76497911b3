"""Fulfillment tables and queries."""

import re
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.sagas.store import define as define_saga_tables
from orderly.storage import Row, Statement, sql

metadata = sa.MetaData()
# each order's fulfillment is a saga in this database (`orchestrator`)
define_saga_tables(metadata)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    # an order whose lines ship from several distribution centres ships a part from each
    # (0 first, `dc` its centre); an order from one centre has one, part 0, and no `dc`
    sa.Column("part", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("dc", sa.String(32)),
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
    # released to the warehouse, which fulfils it (waves, picks, packing): not shipped by an
    # operator's word alone
    sa.Column("warehouse", sa.Boolean(), nullable=False, server_default=sa.false()),
    # a part that ships a released backorder of the order
    sa.Column("backorder_id", sa.String(36)),
    sa.Index("shipments_order_part", "order_id", "part", unique=True),
    sa.Index("shipments_backorder", "backorder_id"),
    sa.Index("shipments_owner", "owner_id", "created_at"),
)

COLUMNS = (
    "id, order_id, part, dc, status, items, shipping_address, tracking_number, carrier,"
    " shipped_at, delivered_at, delivery_location, created_at, updated_at, owner_id, account_id,"
    " backorder_id"
)
INSERT = sql(
    "INSERT INTO shipments (id, order_id, status, items, shipping_address, created_at,"
    " updated_at, owner_id, account_id)"
    " VALUES (:id, :order_id, :status, :items, :shipping_address, :at, :at, :owner_id, :account_id)"
    " ON CONFLICT (order_id, part) DO NOTHING"
)
GET = sql(f"SELECT {COLUMNS} FROM shipments WHERE id = :id")
BY_ORDER = sql(f"SELECT {COLUMNS} FROM shipments WHERE order_id = :order_id ORDER BY part")
BY_ORDERS = sql(
    f"SELECT {COLUMNS} FROM shipments WHERE order_id IN :order_ids ORDER BY order_id, part",
    lists=["order_ids"],
)
# The order's lines from its first centre stay on its first shipment; each other centre's
# go on a part of their own, like it in all else.
NARROW_SHIPMENT = sql(
    "UPDATE shipments SET dc = :dc, items = :items, updated_at = :at"
    " WHERE order_id = :order_id AND part = 0"
)
INSERT_PART = sql(
    "INSERT INTO shipments (id, order_id, part, dc, status, items, shipping_address, created_at,"
    " updated_at, owner_id, account_id, warehouse, backorder_id) VALUES (:id, :order_id, :part,"
    " :dc, :status, :items, :shipping_address, :at, :at, :owner_id, :account_id, TRUE,"
    " :backorder_id) ON CONFLICT (order_id, part) DO NOTHING"
)


def part(
    first: Row,
    number: int,
    items: list[dict[str, Any]],
    *,
    status: str,
    dc: str | None = None,
    backorder_id: str | None = None,
) -> dict[str, Any]:
    """INSERT_PART's parameters: part `number` of the order whose first shipment is `first`,
    to the same address, for the same owner."""
    return {
        "id": new_id(),
        "order_id": first["order_id"],
        "part": number,
        "dc": dc,
        "status": status,
        "items": items,
        "shipping_address": first["shipping_address"],
        "owner_id": first["owner_id"],
        "account_id": first["account_id"],
        "backorder_id": backorder_id,
        "at": utcnow(),
    }


OF_BACKORDER = sql(f"SELECT {COLUMNS} FROM shipments WHERE backorder_id = :backorder_id")
MOVE_SHIPMENT = sql(
    "UPDATE shipments SET status = :status, updated_at = :at WHERE id = :id AND status = :expected"
)
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
RELEASE_TO_WAREHOUSE = sql(
    "UPDATE shipments SET status = 'PENDING_SHIPMENT', warehouse = TRUE, updated_at = :at"
    " WHERE order_id = :order_id AND status = 'ON_HOLD'"
)
# A shipment's row as its order's lock: whichever of its release and its allocation comes
# last starts its fulfillment, and only once.
LOCK_SHIPMENT = sql("UPDATE shipments SET updated_at = updated_at WHERE order_id = :order_id")
WAREHOUSE_SHIPMENT = sql(
    "SELECT status, warehouse, items, shipping_address FROM shipments"
    " WHERE order_id = :order_id AND part = 0"
)
SET_STATUS = sql(
    "UPDATE shipments SET status = :status, updated_at = :at"
    " WHERE order_id = :order_id AND status = :expected"
)


# The warehouse floor (seed 004): fulfillment's copy of what a picker scans, the lots
# inventory allocated to each order, waves, pick tasks, packing, and escalated waits.

products = sa.Table(
    "fulfillment_products",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # a unit without one is counted at the shelf, not scanned
    sa.Column("gtin", sa.String(14)),
)
allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("part", sa.Integer(), primary_key=True),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("dc", sa.String(32), nullable=False),
    sa.Column("lot", sa.String(20), nullable=False),
    sa.Column("expires_on", sa.String(10)),
    sa.Column("quantity", sa.Integer(), nullable=False),
)
waves = sa.Table(
    "waves",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("dc", sa.String(32), nullable=False),
    sa.Column("zone", sa.String(32), nullable=False),
    sa.Column("carrier", sa.String(64), nullable=False),
    sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("orders", sa.Integer(), nullable=False),
    sa.Column("lines", sa.Integer(), nullable=False),
    sa.Column("units", sa.Integer(), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Column("released_by", sa.String(36)),
    sa.Index("waves_status", "status", "opened_at"),
)
wave_orders = sa.Table(
    "wave_orders",
    metadata,
    # an order joins a wave in each distribution centre it is picked in
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("wave_id", sa.String(36), primary_key=True),
    sa.Column("lines", sa.Integer(), nullable=False),
    sa.Column("units", sa.Integer(), nullable=False),
    sa.Index("wave_orders_wave", "wave_id"),
)
pick_tasks = sa.Table(
    "pick_tasks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("wave_id", sa.String(36)),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("gtin", sa.String(14)),
    sa.Column("dc", sa.String(32), nullable=False),
    sa.Column("lot", sa.String(20), nullable=False),
    sa.Column("expires_on", sa.String(10)),
    sa.Column("location", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    # the serial number of each unit picked ("" for a unit without one)
    sa.Column("picked", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("short", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("pick_tasks_order", "order_id"),
    sa.Index("pick_tasks_wave", "wave_id", "status"),
)
packs = sa.Table(
    "packs",
    metadata,
    # an order is packed in each distribution centre it was picked in
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("dc", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("packages", sa.Integer()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("packed_at", sa.DateTime(timezone=True)),
    sa.Column("packed_by", sa.String(36)),
    sa.Index("packs_status", "status", "created_at"),
)
# What an external WMS is to be told of an order (`send` it, or `cancel` it), until it was.
wms_requests = sa.Table(
    "wms_requests",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("wms_requests_pending", "status", "updated_at"),
)
# What a short pick did to the units the shelf did not have (`ORDERLY_SHORT_PICK`): a
# backorder of the order, shipped later under a fulfillment of its own (`fulfillment_id`: its
# saga's, its reservation's and its picks' key, new each time it is released), or its line
# cancelled by that many units.
backorders = sa.Table(
    "backorders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("fulfillment_id", sa.String(36)),
    sa.Column("releases", sa.Integer(), nullable=False, server_default="0"),
    # why it went back to OPEN, or was cancelled
    sa.Column("reason", sa.String(120)),
    sa.Column("carrier", sa.String(64)),
    sa.Column("tracking_number", sa.String(64)),
    sa.Column("shipped_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("backorders_status", "status", "created_at"),
    sa.Index("backorders_order", "order_id"),
    sa.Index("backorders_fulfillment", "fulfillment_id"),
    sa.Index("backorders_product", "product_id", "status"),
)
line_cancellations = sa.Table(
    "line_cancellations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("line_cancellations_order", "order_id"),
)
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("step", sa.String(32), primary_key=True),
    sa.Column("times", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

UPSERT_PRODUCT = sql(
    "INSERT INTO fulfillment_products (product_id, sku, name, gtin)"
    " VALUES (:product_id, :sku, :name, :gtin) ON CONFLICT (product_id) DO UPDATE"
    " SET sku = excluded.sku, name = excluded.name, gtin = excluded.gtin"
)
PRODUCT = sql(
    "SELECT product_id, sku, name, gtin FROM fulfillment_products WHERE product_id = :product_id"
)
FORGET_ALLOCATION = sql("DELETE FROM allocations WHERE order_id = :order_id")
INSERT_ALLOCATION = sql(
    "INSERT INTO allocations (order_id, part, product_id, dc, lot, expires_on, quantity)"
    " VALUES (:order_id, :part, :product_id, :dc, :lot, :expires_on, :quantity)"
)
ALLOCATION = sql(
    "SELECT part, product_id, dc, lot, expires_on, quantity FROM allocations"
    " WHERE order_id = :order_id ORDER BY part"
)

_WAVE_COLUMNS = (
    "id, dc, zone, carrier, cutoff, status, orders, lines, units, opened_at, released_at,"
    " released_by"
)
# The oldest open wave of the lane with room for an order (`waves.choose` is the rule; this
# reads only what it would choose from, not every full wave of the lane still open).
OPEN_WAVE_WITH_ROOM = sql(
    f"SELECT {_WAVE_COLUMNS} FROM waves WHERE status = 'OPEN' AND dc = :dc AND zone = :zone"
    " AND carrier = :carrier AND cutoff = :cutoff AND lines + :lines <= :max_lines"
    " AND units + :units <= :max_units ORDER BY opened_at, id LIMIT 1"
)
INSERT_WAVE = sql(
    "INSERT INTO waves (id, dc, zone, carrier, cutoff, status, orders, lines, units, opened_at)"
    " VALUES (:id, :dc, :zone, :carrier, :cutoff, 'OPEN', 0, 0, 0, :at)"
)
JOIN_WAVE = sql(
    "INSERT INTO wave_orders (order_id, wave_id, lines, units)"
    " VALUES (:order_id, :wave_id, :lines, :units) ON CONFLICT (order_id, wave_id) DO NOTHING"
)
GROW_WAVE = sql(
    "UPDATE waves SET orders = orders + 1, lines = lines + :lines, units = units + :units"
    " WHERE id = :id AND status = 'OPEN'"
)
LEAVE_WAVE = sql("DELETE FROM wave_orders WHERE order_id = :order_id AND wave_id = :wave_id")
SHRINK_WAVE = sql(
    "UPDATE waves SET orders = orders - 1, lines = lines - :lines, units = units - :units"
    " WHERE id = :id"
)
WAVES_OF_ORDER = sql(
    "SELECT wo.wave_id, wo.lines, wo.units, w.dc, w.status FROM wave_orders wo"
    " JOIN waves w ON w.id = wo.wave_id WHERE wo.order_id = :order_id ORDER BY w.dc"
)
# The orders of a wave that are in another wave too (picked in several centres): they go
# to their picks once their last wave is released.
SPLIT_ORDERS_OF_WAVE = sql(
    "SELECT DISTINCT wo.order_id FROM wave_orders wo JOIN wave_orders other"
    " ON other.order_id = wo.order_id AND other.wave_id <> wo.wave_id"
    " WHERE wo.wave_id = :wave_id ORDER BY wo.order_id"
)
OPEN_WAVES_OF_ORDER = sql(
    "SELECT count(*) AS n FROM wave_orders wo JOIN waves w ON w.id = wo.wave_id"
    " WHERE wo.order_id = :order_id AND w.status = 'OPEN'"
)
GET_WAVE = sql(f"SELECT {_WAVE_COLUMNS} FROM waves WHERE id = :id")
WAVES = sql(
    f"SELECT {_WAVE_COLUMNS} FROM waves WHERE status = :status"
    " ORDER BY opened_at DESC, id LIMIT :limit"
)
ALL_WAVES = sql(f"SELECT {_WAVE_COLUMNS} FROM waves ORDER BY opened_at DESC, id LIMIT :limit")
WAVE_ORDERS = sql("SELECT order_id FROM wave_orders WHERE wave_id = :wave_id ORDER BY order_id")
RELEASE_WAVE = sql(
    "UPDATE waves SET status = 'RELEASED', released_at = :at, released_by = :by"
    " WHERE id = :id AND status = 'OPEN'"
)
DUE_WAVES = sql(
    "SELECT id FROM waves WHERE status = 'OPEN' AND orders > 0 AND cutoff <= :before"
    " ORDER BY cutoff, id LIMIT :limit"
)

_TASK_COLUMNS = (
    "id, order_id, wave_id, product_id, gtin, dc, lot, expires_on, location, quantity, picked,"
    " status, short, version, created_at, updated_at"
)
INSERT_TASK = sql(
    "INSERT INTO pick_tasks (id, order_id, wave_id, product_id, gtin, dc, lot, expires_on,"
    " location, quantity, picked, status, short, created_at, updated_at) VALUES (:id, :order_id,"
    " :wave_id, :product_id, :gtin, :dc, :lot, :expires_on, :location, :quantity, :picked,"
    " 'OPEN', 0, :at, :at)"
)
TASKS_OF_ORDER = sql(
    f"SELECT {_TASK_COLUMNS} FROM pick_tasks WHERE order_id = :order_id ORDER BY location, id"
)
TASKS_OF_WAVE = sql(
    f"SELECT {_TASK_COLUMNS} FROM pick_tasks WHERE wave_id = :wave_id ORDER BY location, id"
)
GET_TASK = sql(f"SELECT {_TASK_COLUMNS} FROM pick_tasks WHERE id = :id")
PICK = sql(
    "UPDATE pick_tasks SET picked = :picked, status = :status, short = :short, updated_at = :at,"
    " version = version + 1 WHERE id = :id AND version = :version"
)
CLOSE_REPORTED_TASKS = sql(
    "UPDATE pick_tasks SET status = 'PICKED', updated_at = :at, version = version + 1"
    " WHERE order_id = :order_id AND status = 'OPEN'"
)
CANCEL_TASKS = sql(
    "UPDATE pick_tasks SET status = 'CANCELLED', updated_at = :at, version = version + 1"
    " WHERE order_id = :order_id AND status <> 'CANCELLED'"
)

_PACK_COLUMNS = "order_id, dc, status, packages, created_at, packed_at, packed_by"
OPEN_PACK = sql(
    "INSERT INTO packs (order_id, dc, status, created_at) VALUES (:order_id, :dc, 'OPEN', :at)"
    " ON CONFLICT (order_id, dc) DO UPDATE SET status = 'OPEN', packages = NULL,"
    " packed_at = NULL, packed_by = NULL WHERE packs.status = 'CANCELLED'"
)
PACKS_OF_ORDER = sql(f"SELECT {_PACK_COLUMNS} FROM packs WHERE order_id = :order_id ORDER BY dc")
PACKS = sql(
    f"SELECT {_PACK_COLUMNS} FROM packs"
    " WHERE status = :status ORDER BY created_at, order_id, dc LIMIT :limit"
)
PACK = sql(
    "UPDATE packs SET status = 'PACKED', packages = :packages, packed_at = :at, packed_by = :by"
    " WHERE order_id = :order_id AND dc = :dc AND status = 'OPEN'"
)
CANCEL_PACK = sql(
    "UPDATE packs SET status = 'CANCELLED' WHERE order_id = :order_id AND status <> 'CANCELLED'"
)
ALLOCATED_DCS = sql("SELECT DISTINCT dc FROM allocations WHERE order_id = :order_id ORDER BY dc")

ESCALATE = sql(
    "INSERT INTO escalations (order_id, step, times, at) VALUES (:order_id, :step, :times, :at)"
    " ON CONFLICT (order_id, step) DO UPDATE SET times = excluded.times, at = excluded.at"
)
SETTLE_ESCALATIONS = sql("DELETE FROM escalations WHERE order_id = :order_id")
ESCALATIONS = sql("SELECT order_id, step, times, at FROM escalations ORDER BY at DESC LIMIT :limit")

WANT_WMS = sql(
    "INSERT INTO wms_requests (order_id, op, payload, status, attempts, updated_at)"
    " VALUES (:order_id, :op, :payload, 'pending', 0, :at) ON CONFLICT (order_id) DO UPDATE"
    " SET op = excluded.op, payload = excluded.payload, status = 'pending', attempts = 0,"
    " claimed_until = NULL, updated_at = excluded.updated_at"
)
_WMS_CLAIMABLE = "status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)"
CLAIM_WMS = sql(
    "UPDATE wms_requests SET claimed_until = :until, attempts = attempts + 1"
    f" WHERE order_id IN (SELECT order_id FROM wms_requests WHERE {_WMS_CLAIMABLE}"
    f" ORDER BY updated_at LIMIT :limit) AND {_WMS_CLAIMABLE}"
)
CLAIMED_WMS = sql(
    "SELECT order_id, op, payload, attempts FROM wms_requests"
    " WHERE claimed_until = :until AND status = 'pending'"
)
DONE_WMS = sql(
    "UPDATE wms_requests SET status = 'done', claimed_until = NULL, updated_at = :at"
    " WHERE order_id = :order_id AND op = :op AND status = 'pending'"
)
RETRY_WMS = sql(
    "UPDATE wms_requests SET claimed_until = :until WHERE order_id = :order_id"
    " AND op = :op AND status = 'pending'"
)
GET_WMS = sql("SELECT order_id, op, status, attempts FROM wms_requests WHERE order_id = :order_id")

_BACKORDER_COLUMNS = (
    "id, order_id, product_id, quantity, status, fulfillment_id, releases, reason, carrier,"
    " tracking_number, shipped_at, created_at, updated_at"
)
INSERT_BACKORDER = sql(
    "INSERT INTO backorders (id, order_id, product_id, quantity, status, releases, created_at,"
    " updated_at) VALUES (:id, :order_id, :product_id, :quantity, 'OPEN', 0, :at, :at)"
    " ON CONFLICT (id) DO NOTHING"
)
GET_BACKORDER = sql(f"SELECT {_BACKORDER_COLUMNS} FROM backorders WHERE id = :id")
BACKORDER_OF_FULFILLMENT = sql(
    f"SELECT {_BACKORDER_COLUMNS} FROM backorders WHERE fulfillment_id = :fulfillment_id"
)
BACKORDERS_OF_ORDER = sql(
    f"SELECT {_BACKORDER_COLUMNS} FROM backorders WHERE order_id = :order_id"
    " ORDER BY created_at, id"
)
OPEN_BACKORDERS_OF_PRODUCT = sql(
    f"SELECT {_BACKORDER_COLUMNS} FROM backorders WHERE product_id = :product_id"
    " AND status = 'OPEN' ORDER BY created_at, id"
)
BACKORDERS = sql(
    f"SELECT {_BACKORDER_COLUMNS} FROM backorders WHERE status = :status"
    " ORDER BY created_at, id LIMIT :limit"
)
ALL_BACKORDERS = sql(
    f"SELECT {_BACKORDER_COLUMNS} FROM backorders ORDER BY created_at, id LIMIT :limit"
)
# A backorder's move from the status it was read in (`expected`): two moves of one backorder
# take turns, the second finding it moved.
MOVE_BACKORDER = sql(
    "UPDATE backorders SET status = :status, reason = :reason, updated_at = :at"
    " WHERE id = :id AND status = :expected"
)
RELEASE_BACKORDER = sql(
    "UPDATE backorders SET status = 'RELEASED', fulfillment_id = :fulfillment_id,"
    " releases = releases + 1, reason = NULL, updated_at = :at WHERE id = :id AND status = 'OPEN'"
)
SHIP_BACKORDER = sql(
    "UPDATE backorders SET status = 'FULFILLED', carrier = :carrier,"
    " tracking_number = :tracking_number, shipped_at = :at, updated_at = :at"
    " WHERE id = :id AND status = 'RELEASED'"
)
CANCEL_OPEN_BACKORDERS = sql(
    "UPDATE backorders SET status = 'CANCELLED', reason = :reason, updated_at = :at"
    " WHERE order_id = :order_id AND status = 'OPEN'"
)

INSERT_LINE_CANCELLATION = sql(
    "INSERT INTO line_cancellations (id, order_id, product_id, quantity, created_at)"
    " VALUES (:id, :order_id, :product_id, :quantity, :at) ON CONFLICT (id) DO NOTHING"
)
LINE_CANCELLATIONS = sql(
    "SELECT id, order_id, product_id, quantity, created_at FROM line_cancellations"
    " WHERE order_id = :order_id ORDER BY created_at, id"
)
