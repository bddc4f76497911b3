"""Inventory tables and queries, and the reads and writes that differ by SQL dialect."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from orderly.inventory.domain import Licence, Lot, SoftHold, Stock
from orderly.storage import Row, Tx, sql

metadata = sa.MetaData()

# One row per product inventory knows of. Every change to a product's stock or reservations
# first bumps its `version`: on PostgreSQL that row lock serialises them per product, so a
# decision read after it sees every earlier commit (SQLite has one writer anyway).
items = sa.Table(
    "inventory_items",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("version", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# The distribution centres stock may be received into, made on purpose by an operator; `MAIN`
# is in every deployment (its migration makes it), and a product's initial stock goes there.
dcs = sa.Table(
    "dcs",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # its DEA registration: the schedules (`2`, `2N`, ... `5`) it may hold and ship
    sa.Column("dea_schedules", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    # the states it is licensed to ship controlled substances to; null: every state
    sa.Column("licensed_states", sa.JSON()),
)

# The B2B accounts inventory knows of (identity's account.created): a shelf life is set only
# for one of them.
accounts = sa.Table(
    "inventory_accounts",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
)

safety_stock = sa.Table(
    "safety_stock",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("dc", sa.String(32), primary_key=True),
    sa.Column("units", sa.BigInteger(), nullable=False),
)

# The minimum shelf life (days) a B2B customer accepts: lots expiring sooner are not sent.
shelf_life = sa.Table(
    "shelf_life",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("days", sa.Integer(), nullable=False),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("dc", sa.String(32), nullable=False),
    sa.Column("lot_number", sa.String(20), nullable=False),
    sa.Column("expires_on", sa.String(10)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("on_hand", sa.BigInteger(), nullable=False),
    sa.Column("reserved", sa.BigInteger(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("product_id", "dc", "lot_number", name="lots_product_dc_lot"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("line", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("dc", sa.String(32), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # a hard reservation's lots: [{lotId, lot, quantity, expiresOn}]
    sa.Column("allocations", sa.JSON()),
    # a soft hold's customer and B2B account (the cart's owner), for the operator
    sa.Column("customer_id", sa.String(36)),
    sa.Column("account_id", sa.String(36)),
    sa.UniqueConstraint("reference", "line", "kind", name="reservations_command"),
    sa.Index("reservations_live", "product_id", "status", "kind"),
    sa.Index("reservations_customer", "customer_id", "status", "kind"),
)

INSERT_ITEM = sql(
    "INSERT INTO inventory_items (product_id, sku, version, created_at)"
    " VALUES (:product_id, :sku, 0, :at) ON CONFLICT (product_id) DO NOTHING"
)
LOCK_ITEM = sql("UPDATE inventory_items SET version = version + 1 WHERE product_id = :product_id")

_LOT_COLUMNS = (
    "SELECT id, product_id, dc, lot_number, expires_on, status, on_hand, reserved, received_at"
    " FROM lots"
)
LOT = sql(f"{_LOT_COLUMNS} WHERE id = :id")
LOT_BY_NUMBER = sql(
    f"{_LOT_COLUMNS} WHERE product_id = :product_id AND dc = :dc AND lot_number = :lot_number"
)
INSERT_LOT = sql(
    "INSERT INTO lots (id, product_id, dc, lot_number, expires_on, status, on_hand, reserved,"
    " received_at) VALUES (:id, :product_id, :dc, :lot_number, :expires_on, :status,"
    " :quantity, 0, :at)"
)
ADD_TO_LOT = sql("UPDATE lots SET on_hand = on_hand + :quantity WHERE id = :id")
SET_LOT_STATUS = sql("UPDATE lots SET status = :status WHERE id = :id")
RESERVE_LOT = sql("UPDATE lots SET reserved = reserved + :quantity WHERE id = :id")
PICK_LOT = sql(
    "UPDATE lots SET on_hand = on_hand - :quantity, reserved = reserved - :quantity WHERE id = :id"
)
# Picked units put back on their shelf: on hand again, held by no one.
RESTOCK_LOT = sql("UPDATE lots SET on_hand = on_hand + :quantity WHERE id = :id")
UNPICK_RESERVATION = sql(
    "UPDATE reservations SET status = 'released', updated_at = :at"
    " WHERE id = :id AND status = 'picked'"
)

INSERT_DC = sql(
    "INSERT INTO dcs (code, name, created_at, dea_schedules, licensed_states)"
    " VALUES (:code, :name, :at, :dea_schedules, :licensed_states)"
    " ON CONFLICT (code) DO NOTHING"
)
_DC_COLUMNS = "SELECT code, name, created_at, dea_schedules, licensed_states FROM dcs"
DC = sql(f"{_DC_COLUMNS} WHERE code = :code")
DCS = sql(f"{_DC_COLUMNS} ORDER BY code")
UPDATE_DC = sql(
    "UPDATE dcs SET name = :name, dea_schedules = :dea_schedules,"
    " licensed_states = :licensed_states WHERE code = :code"
)

INSERT_ACCOUNT = sql(
    "INSERT INTO inventory_accounts (account_id) VALUES (:account_id)"
    " ON CONFLICT (account_id) DO NOTHING"
)
KNOWN_ACCOUNT = sql("SELECT account_id FROM inventory_accounts WHERE account_id = :account_id")

SET_SAFETY_STOCK = sql(
    "INSERT INTO safety_stock (product_id, dc, units) VALUES (:product_id, :dc, :units)"
    " ON CONFLICT (product_id, dc) DO UPDATE SET units = :units"
)

_RESERVATION_COLUMNS = (
    "SELECT id, reference, line, kind, product_id, dc, quantity, status, expires_at, created_at,"
    " updated_at, allocations FROM reservations"
)
RESERVATION = sql(
    f"{_RESERVATION_COLUMNS} WHERE reference = :reference AND line = :line AND kind = :kind"
)
REFERENCE_RESERVATIONS = sql(
    f"{_RESERVATION_COLUMNS} WHERE reference = :reference ORDER BY line, kind"
)
INSERT_RESERVATION = sql(
    "INSERT INTO reservations (id, reference, line, kind, product_id, dc, quantity, status,"
    " expires_at, created_at, updated_at, allocations, customer_id, account_id) VALUES (:id,"
    " :reference, :line, :kind, :product_id, :dc, :quantity, 'live', :expires_at, :at, :at,"
    " :allocations, :customer_id, :account_id) ON CONFLICT DO NOTHING"
)
# PostgreSQL only: a one-lot hard reservation and its lot's count in one round trip; the lot
# is counted only if the reservation row is new.
INSERT_HARD_ONE_LOT = sql(
    "WITH made AS (INSERT INTO reservations (id, reference, line, kind, product_id, dc,"
    " quantity, status, expires_at, created_at, updated_at, allocations, customer_id,"
    " account_id) VALUES (:id, :reference, :line, :kind, :product_id, :dc, :quantity, 'live',"
    " :expires_at, :at, :at, :allocations, :customer_id, :account_id)"
    " ON CONFLICT DO NOTHING RETURNING id)"
    " UPDATE lots SET reserved = reserved + :units WHERE id = :lot_id"
    " AND EXISTS (SELECT 1 FROM made)"
)
# A soft hold's row lives as long as its cart: released, expired or renewed, it is the same
# row, so its `created_at` is when the cart first held the product, and bounds its renewals.
INSERT_SOFT = sql(
    "INSERT INTO reservations (id, reference, line, kind, product_id, dc, quantity, status,"
    " expires_at, created_at, updated_at, customer_id, account_id) VALUES (:id, :reference,"
    " :line, 'soft', :product_id, :dc, :quantity, 'live', :expires_at, :at, :at, :customer_id,"
    " :account_id)"
)
RENEW_SOFT = sql(
    "UPDATE reservations SET quantity = :quantity, dc = :dc, status = 'live',"
    " expires_at = :expires_at, updated_at = :at,"
    " customer_id = :customer_id, account_id = :account_id WHERE id = :id"
)
_HOLD_COLUMNS = (
    "SELECT id, reference, line, product_id, dc, quantity, customer_id, account_id, created_at,"
    " expires_at FROM reservations"
)
# Live soft holds on a product, the largest first (the operator's view of who holds what).
PRODUCT_HOLDS = sql(
    f"{_HOLD_COLUMNS} WHERE product_id = :product_id AND kind = 'soft' AND status = 'live'"
    " AND expires_at > :now ORDER BY quantity DESC, created_at, reference"
)
# A cart's live soft holds, one per product.
CART_HOLDS = sql(
    f"{_HOLD_COLUMNS} WHERE reference = :reference AND kind = 'soft' AND status = 'live'"
    " AND expires_at > :now"
)
KNOWN_ITEM = sql("SELECT product_id FROM inventory_items WHERE product_id = :product_id")
SET_RESERVATION_STATUS = sql(
    "UPDATE reservations SET status = :status, updated_at = :at WHERE id = :id AND status = 'live'"
)
# A direct order's hold runs out at `expires_at` unless its order.created confirms it.
CONFIRM_HOLD = sql(
    "UPDATE reservations SET expires_at = NULL, updated_at = :at WHERE reference = :reference"
    " AND kind = 'hard' AND status = 'live' AND expires_at IS NOT NULL"
    " RETURNING line, product_id, dc, quantity, allocations"
)
EXPIRED_HOLDS = sql(
    "SELECT id, reference, product_id, quantity, allocations FROM reservations"
    " WHERE kind = 'hard' AND status = 'live' AND expires_at <= :now LIMIT :limit"
)
CART_OWNER = sql(
    "SELECT customer_id FROM reservations WHERE reference = :reference AND kind = 'soft'"
    " AND customer_id IS NOT NULL LIMIT 1"
)
# A released (or run out) reservation, made anew for the same order: the old rows give way.
FORGET_GONE_HARD = sql(
    "DELETE FROM reservations WHERE reference = :reference AND kind = 'hard'"
    " AND status IN ('released', 'expired')"
)
FORGET_EXPIRED_HOLDS = sql(
    "DELETE FROM reservations WHERE reference = :reference AND kind = 'hard' AND status = 'expired'"
)
EXPIRED_SOFT = sql(
    "SELECT id, reference, line, product_id, quantity FROM reservations"
    " WHERE kind = 'soft' AND status = 'live' AND expires_at <= :now LIMIT :limit"
)


def _stock(product: str) -> str:
    """Everything a decision about a product needs, in one round trip: whether inventory knows
    it, its lots, its live soft reservations and its safety stock per DC; of each product
    whose id meets `product`."""
    return (
        "SELECT product_id, 'item' AS part, product_id AS id, '' AS dc, '' AS name,"
        " NULL AS expires_on, NULL AS status, 0 AS units, 0 AS reserved, NULL AS received_at,"
        f" '' AS line FROM inventory_items WHERE product_id {product}"
        " UNION ALL SELECT product_id, 'lot', id, dc, lot_number, expires_on, status, on_hand,"
        f" reserved, received_at, '' FROM lots WHERE product_id {product}"
        " UNION ALL SELECT product_id, 'soft', id, dc, reference, NULL, NULL, quantity, 0, NULL,"
        f" line FROM reservations WHERE product_id {product} AND kind = 'soft'"
        " AND status = 'live' AND expires_at > :now"
        " UNION ALL SELECT product_id, 'safety', '', dc, '', NULL, NULL, units, 0, NULL, ''"
        f" FROM safety_stock WHERE product_id {product}"
    )


STOCK = sql(_stock("= :product_id"))
STOCKS = sql(_stock("IN :product_ids"), lists=["product_ids"])
SHELF_LIFE = sql("SELECT days FROM shelf_life WHERE account_id = :account_id")
SET_SHELF_LIFE = sql(
    "INSERT INTO shelf_life (account_id, days) VALUES (:account_id, :days)"
    " ON CONFLICT (account_id) DO UPDATE SET days = :days"
)


async def lock(tx: Tx, product_id: str) -> bool:
    """Take the product's lock (`LOCK_ITEM`); False if inventory does not know the product."""
    return bool(await tx.execute(LOCK_ITEM, {"product_id": product_id}))


def lot(row: Row) -> Lot:
    expires = row["expires_on"]
    return Lot(
        id=row["id"],
        dc=row["dc"],
        lot_number=row["lot_number"],
        expires_on=date.fromisoformat(expires) if expires else None,
        received_at=str(row["received_at"]),
        on_hand=int(row["on_hand"]),
        reserved=int(row["reserved"]),
        status=row["status"],
    )


async def stock(tx: Tx, product_id: str, now: datetime) -> Stock | None:
    """The product's stock as of now (`STOCK`); None if inventory does not know the product."""
    return _stock_of(await tx.fetch_all(STOCK, {"product_id": product_id, "now": now}))


async def stocks(tx: Tx, product_ids: Sequence[str], now: datetime) -> dict[str, Stock]:
    """The stock of each of the products inventory knows, as of now, in one read (`STOCKS`)."""
    params = {"product_ids": list(product_ids), "now": now}
    rows: dict[str, list[Row]] = defaultdict(list)
    for row in await tx.fetch_all(STOCKS, params):
        rows[row["product_id"]].append(row)
    found = {product_id: _stock_of(of_one) for product_id, of_one in rows.items()}
    return {product_id: stock for product_id, stock in found.items() if stock is not None}


def _stock_of(rows: Sequence[Row]) -> Stock | None:
    """One product's stock from its rows of `STOCK`; None without its item's row."""
    if not any(row["part"] == "item" for row in rows):
        return None
    lots = sorted(
        (
            lot({**r, "lot_number": r["name"], "on_hand": r["units"]})
            for r in rows
            if r["part"] == "lot"
        ),
        key=lambda found: (found.dc, found.lot_number),
    )
    soft = [
        SoftHold(
            id=r["id"], reference=r["name"], line=r["line"], dc=r["dc"], quantity=int(r["units"])
        )
        for r in rows
        if r["part"] == "soft"
    ]
    safety = {r["dc"]: int(r["units"]) for r in rows if r["part"] == "safety"}
    return Stock(lots, soft, safety)


async def insert_hard(
    tx: Tx, reservation: dict[str, Any], allocation: Sequence[tuple[Lot, int]]
) -> bool:
    """Write a hard reservation (`INSERT_RESERVATION`'s parameters) and count its lots as
    reserved; False, and nothing counted, if it was made before. On PostgreSQL a one-lot
    reservation takes one round trip (`INSERT_HARD_ONE_LOT`)."""
    if tx.dialect == "postgresql" and len(allocation) == 1:
        taken, units = allocation[0]
        params = {**reservation, "lot_id": taken.id, "units": units}
        return bool(await tx.execute(INSERT_HARD_ONE_LOT, params))
    if not await tx.execute(INSERT_RESERVATION, reservation):
        return False
    await tx.execute_many(RESERVE_LOT, [{"id": taken.id, "quantity": n} for taken, n in allocation])
    return True


async def give_back(tx: Tx, allocations: Sequence[dict[str, Any]]) -> None:
    """A hard reservation's lots stop counting its units as reserved."""
    await tx.execute_many(
        RESERVE_LOT, [{"id": a["lotId"], "quantity": -int(a["quantity"])} for a in allocations]
    )


def licence(row: Row) -> Licence:
    """A DC's registration and state licences, from its row (`DC`, `DCS`)."""
    schedules = row["dea_schedules"]
    states = row["licensed_states"]
    if isinstance(schedules, str):  # JSON as text, where the driver does not decode it
        schedules = orjson.loads(schedules)
    if isinstance(states, str):
        states = orjson.loads(states)
    return Licence(
        dc=row["code"],
        schedules=frozenset(schedules or ()),
        states=None if states is None else frozenset(states),
    )
