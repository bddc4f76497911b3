"""Pricing tables and queries."""

from datetime import date

import sqlalchemy as sa

from orderly.storage import Row, sql

metadata = sa.MetaData()

wac_prices = sa.Table(
    "wac_prices",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("effective_from", sa.String(10), primary_key=True),
    sa.Column("cents", sa.BigInteger(), nullable=False),
    # whether `price.wac_changed` told the other contexts of it once it took effect
    sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.true()),
)

prices_340b = sa.Table(
    "prices_340b",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("effective_from", sa.String(10), primary_key=True),
    sa.Column("cents", sa.BigInteger(), nullable=False),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("party", sa.String(64), nullable=False),
    sa.Column("starts_on", sa.String(10), nullable=False),
    sa.Column("ends_on", sa.String(10)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

contract_prices = sa.Table(
    "contract_prices",
    metadata,
    sa.Column("contract_id", sa.String(36), primary_key=True),
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("min_quantity", sa.BigInteger(), primary_key=True),
    sa.Column("cents", sa.BigInteger(), nullable=False),
    sa.Index("contract_prices_product", "product_id"),
)

# What pricing keeps of B2B accounts (from identity's account.created), and their GPO.
price_accounts = sa.Table(
    "price_accounts",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("segment", sa.String(32), nullable=False),
    sa.Column("is_340b", sa.Boolean(), nullable=False),
    sa.Column("gpo", sa.String(64)),
)

price_locks = sa.Table(
    "price_locks",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("line", sa.String(64), primary_key=True),
    sa.Column("product_id", sa.String(36), nullable=False),
    sa.Column("quantity", sa.BigInteger(), nullable=False),
    sa.Column("cents", sa.BigInteger(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("contract_id", sa.String(36)),
    sa.Column("effective_date", sa.String(10), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
)

# Orders cancelled, so that their locks, if they come after, are not made.
voided_orders = sa.Table(
    "voided_orders",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
)

SET_WAC = sql(
    "INSERT INTO wac_prices (product_id, effective_from, cents, announced)"
    " VALUES (:product_id, :effective_from, :cents, :announced)"
    " ON CONFLICT (product_id, effective_from) DO UPDATE SET cents = :cents,"
    " announced = :announced"
)
# WACs in force by now that nobody was told of yet (set ahead of their day)
UNANNOUNCED_WAC = sql(
    "SELECT product_id, effective_from FROM wac_prices WHERE NOT announced"
    " AND effective_from <= :day ORDER BY effective_from LIMIT 500"
)
MARK_WAC_ANNOUNCED = sql(
    "UPDATE wac_prices SET announced = TRUE"
    " WHERE product_id = :product_id AND effective_from = :effective_from"
)
CURRENT_WAC = sql(
    "SELECT cents, effective_from FROM wac_prices WHERE product_id = :product_id"
    " AND effective_from <= :day ORDER BY effective_from DESC LIMIT 1"
)
SET_340B = sql(
    "INSERT INTO prices_340b (product_id, effective_from, cents)"
    " VALUES (:product_id, :effective_from, :cents)"
    " ON CONFLICT (product_id, effective_from) DO UPDATE SET cents = :cents"
)
CURRENT_340B = sql(
    "SELECT cents, effective_from FROM prices_340b WHERE product_id = :product_id"
    " AND effective_from <= :day ORDER BY effective_from DESC LIMIT 1"
)
INSERT_CONTRACT = sql(
    "INSERT INTO contracts (id, name, kind, party, starts_on, ends_on, created_at)"
    " VALUES (:id, :name, :kind, :party, :starts_on, :ends_on, :at)"
)
INSERT_CONTRACT_PRICE = sql(
    "INSERT INTO contract_prices (contract_id, product_id, min_quantity, cents)"
    " VALUES (:contract_id, :product_id, :min_quantity, :cents)"
)
CONTRACT = sql("SELECT id, name, kind, party, starts_on, ends_on FROM contracts WHERE id = :id")
CONTRACT_LINES = sql(
    "SELECT product_id, min_quantity, cents FROM contract_prices WHERE contract_id = :id"
    " ORDER BY product_id, min_quantity"
)
PRODUCT_OFFERS = sql(
    "SELECT c.id AS contract_id, c.kind, c.party, c.starts_on, c.ends_on, p.min_quantity,"
    " p.cents FROM contract_prices p JOIN contracts c ON c.id = p.contract_id"
    " WHERE p.product_id = :product_id"
)
UPSERT_ACCOUNT = sql(
    "INSERT INTO price_accounts (account_id, segment, is_340b, gpo)"
    " VALUES (:account_id, :segment, :is_340b, NULL)"
    " ON CONFLICT (account_id) DO UPDATE SET segment = :segment, is_340b = :is_340b"
)
SET_GPO = sql("UPDATE price_accounts SET gpo = :gpo WHERE account_id = :account_id")
ACCOUNT = sql(
    "SELECT account_id, segment, is_340b, gpo FROM price_accounts WHERE account_id = :account_id"
)
INSERT_LOCK = sql(
    "INSERT INTO price_locks (order_id, line, product_id, quantity, cents, source, contract_id,"
    " effective_date, status, locked_at) VALUES (:order_id, :line, :product_id, :quantity,"
    " :cents, :source, :contract_id, :effective_date, 'locked', :at)"
    " ON CONFLICT (order_id, line) DO NOTHING"
)
# a B2B checkout's final price, locked again over the voided figures of a failed run
RELOCK = sql(
    "INSERT INTO price_locks (order_id, line, product_id, quantity, cents, source, contract_id,"
    " effective_date, status, locked_at) VALUES (:order_id, :line, :product_id, :quantity,"
    " :cents, :source, :contract_id, :effective_date, 'locked', :at)"
    " ON CONFLICT (order_id, line) DO UPDATE SET product_id = excluded.product_id,"
    " quantity = excluded.quantity, cents = excluded.cents, source = excluded.source,"
    " contract_id = excluded.contract_id, effective_date = excluded.effective_date,"
    " status = 'locked', locked_at = excluded.locked_at"
)
ORDER_LOCKS = sql(
    "SELECT order_id, line, product_id, quantity, cents, source, contract_id, effective_date,"
    " status FROM price_locks WHERE order_id = :order_id ORDER BY line"
)
VOID_ORDER = sql(
    "INSERT INTO voided_orders (order_id, voided_at) VALUES (:order_id, :at)"
    " ON CONFLICT (order_id) DO NOTHING"
)
# whether an order's prices were locked, or the order voided, already
LOCKED_OR_VOIDED = sql(
    "SELECT 1 FROM price_locks WHERE order_id = :order_id"
    " UNION ALL SELECT 1 FROM voided_orders WHERE order_id = :order_id LIMIT 1"
)
VOID_LOCKS = sql(
    "UPDATE price_locks SET status = 'voided' WHERE order_id = :order_id AND status = 'locked'"
)


def price(row: Row | None) -> tuple[int, date] | None:
    """A price row's cents and the day it holds from."""
    if row is None:
        return None
    return int(row["cents"]), date.fromisoformat(row["effective_from"])
