"""Erp's tables and statements: each order's sales order request, and the sales orders made."""

from typing import Any

import sqlalchemy as sa

from orderly.storage import Row, Tx, sql

metadata = sa.MetaData()

# One row per order: the command to answer (its whole envelope: the saga id, correlation and
# run the answer must carry), whether the ERP was called with success, and a claim that keeps
# two workers from calling at once (a claim left by a crashed process runs out).
erp_requests = sa.Table(
    "erp_requests",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("run", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("command", sa.Text(), nullable=False),
    sa.Column("reason", sa.String(32)),
    sa.Column("detail", sa.String(400)),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("erp_requests_status", "status", "requested_at"),
)

sales_orders = sa.Table(
    "sales_orders",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per cancelled order the ERP heard of: `wanted` while its sales order is not known
# (not asked for yet, or being made), `pending` once there is a number to cancel, then
# `cancelled`, or `failed` if the ERP refused.
erp_cancellations = sa.Table(
    "erp_cancellations",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("number", sa.String(20)),
    sa.Column("reason", sa.String(400)),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("erp_cancellations_status", "status", "requested_at"),
)

# One row per credit memo to ask for (an `order.credited` of an order with a sales order):
# `pending` until the ERP took it (`credited`) or refused it (`failed`).
erp_credits = sa.Table(
    "erp_credits",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("product_id", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("amount", sa.String(24), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(400)),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("erp_credits_status", "status", "requested_at"),
)

PENDING, CREATED, FAILED = "pending", "created", "failed"
CREDITED = "credited"
WANTED, CANCELLED = "wanted", "cancelled"

_REQUEST = (
    "SELECT order_id, run, status, command, reason, detail, attempts, claimed_until,"
    " requested_at, updated_at FROM erp_requests"
)
GET_REQUEST = sql(f"{_REQUEST} WHERE order_id = :order_id")
INSERT_REQUEST = sql(
    "INSERT INTO erp_requests (order_id, run, status, command, attempts, requested_at,"
    " updated_at) VALUES (:order_id, :run, 'pending', :command, 0, :at, :at)"
)
# A newer run of the checkout: the request is asked again (its claim, if any, is kept).
RENEW_REQUEST = sql(
    "UPDATE erp_requests SET run = :run, status = 'pending', command = :command,"
    " reason = NULL, detail = NULL, updated_at = :at WHERE order_id = :order_id"
)
# The oldest pending requests nobody holds a live claim on. The conditions are repeated on the
# outer statement so that on PostgreSQL a row claimed meanwhile by another worker (whose
# update this one waited for) is re-checked and left out.
_CLAIMABLE = "status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)"
CLAIM = sql(
    "UPDATE erp_requests SET claimed_until = :until, attempts = attempts + 1"
    f" WHERE order_id IN (SELECT order_id FROM erp_requests WHERE {_CLAIMABLE}"
    f" ORDER BY requested_at LIMIT :limit) AND {_CLAIMABLE}"
    " RETURNING order_id, command"
)
# The call's outcome, once: a request no longer pending was answered already.
FINISH = sql(
    "UPDATE erp_requests SET status = :status, reason = :reason, detail = :detail,"
    " claimed_until = NULL, updated_at = :at WHERE order_id = :order_id AND status = 'pending'"
    " RETURNING run, command"
)
INSERT_SALES_ORDER = sql(
    "INSERT INTO sales_orders (order_id, number, created_at) VALUES (:order_id, :number, :at)"
    " ON CONFLICT (order_id) DO NOTHING"
)
GET_SALES_ORDER = sql(
    "SELECT order_id, number, created_at FROM sales_orders WHERE order_id = :order_id"
)


INSERT_CANCELLATION = sql(
    "INSERT INTO erp_cancellations (order_id, status, number, attempts, requested_at,"
    " updated_at) VALUES (:order_id, :status, :number, 0, :at, :at)"
    " ON CONFLICT (order_id) DO NOTHING"
)
GET_CANCELLATION = sql(
    "SELECT order_id, status, number FROM erp_cancellations WHERE order_id = :order_id"
)
# The sales order just made for an order already cancelled: now it can be cancelled too.
NUMBER_TO_CANCEL = sql(
    "UPDATE erp_cancellations SET status = 'pending', number = :number, updated_at = :at"
    " WHERE order_id = :order_id AND status = 'wanted'"
)
_CANCELLABLE = "status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)"
CLAIM_CANCELLATIONS = sql(
    "UPDATE erp_cancellations SET claimed_until = :until, attempts = attempts + 1"
    f" WHERE order_id IN (SELECT order_id FROM erp_cancellations WHERE {_CANCELLABLE}"
    f" ORDER BY requested_at LIMIT :limit) AND {_CANCELLABLE}"
    " RETURNING order_id, number"
)
FINISH_CANCELLATION = sql(
    "UPDATE erp_cancellations SET status = :status, reason = :reason, claimed_until = NULL,"
    " updated_at = :at WHERE order_id = :order_id AND status = 'pending' RETURNING number"
)


INSERT_CREDIT = sql(
    "INSERT INTO erp_credits (id, order_id, number, product_id, quantity, amount, status,"
    " attempts, requested_at, updated_at) VALUES (:id, :order_id, :number, :product_id,"
    " :quantity, :amount, 'pending', 0, :at, :at) ON CONFLICT (id) DO NOTHING"
)
_CREDITABLE = "status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)"
CLAIM_CREDITS = sql(
    "UPDATE erp_credits SET claimed_until = :until, attempts = attempts + 1"
    f" WHERE id IN (SELECT id FROM erp_credits WHERE {_CREDITABLE}"
    f" ORDER BY requested_at LIMIT :limit) AND {_CREDITABLE}"
    " RETURNING id, order_id, number, product_id, quantity, amount"
)
FINISH_CREDIT = sql(
    "UPDATE erp_credits SET status = :status, reason = :reason, claimed_until = NULL,"
    " updated_at = :at WHERE id = :id AND status = 'pending'"
    " RETURNING order_id, number, product_id, quantity, amount"
)
GET_CREDITS = sql(
    "SELECT id, order_id, number, product_id, quantity, amount, status, reason FROM erp_credits"
    " WHERE order_id = :order_id ORDER BY requested_at, id"
)


def ask_again_after_commit(tx: Tx) -> None:
    """Have the database's commit listeners (the ERP caller among them) woken once `tx`
    commits: a pending request is outgoing work, as an outbox row is."""
    tx.wrote_outbox = True


async def sales_order(tx: Tx, order_id: str) -> Row | None:
    return await tx.fetch_one(GET_SALES_ORDER, {"order_id": order_id})


async def request(tx: Tx, order_id: str) -> Row | None:
    return await tx.fetch_one(GET_REQUEST, {"order_id": order_id})


async def claim(tx: Tx, limit: int, now: Any, until: Any) -> list[Row]:
    return await tx.fetch_all(CLAIM, {"limit": limit, "now": now, "until": until})
