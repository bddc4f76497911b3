"""Payments tables and queries."""

from typing import Any

import sqlalchemy as sa

from orderly.messaging import Envelope, along_with, emit, emit_along
from orderly.storage import Tx, sql

metadata = sa.MetaData()

payment_methods = sa.Table(
    "payment_methods",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(36), nullable=False),
    sa.Column("token", sa.String(80), nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("payment_methods_owner", "owner_id"),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False, unique=True),
    sa.Column("owner_id", sa.String(36)),
    sa.Column("account_id", sa.String(36)),
    sa.Column("method", sa.String(80)),
    sa.Column("amount_cents", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("auth_ref", sa.String(80)),
    sa.Column("reason", sa.String(80)),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("amount_cents", sa.BigInteger(), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("refunds_payment", "payment_id"),
)

INSERT_METHOD = sql(
    "INSERT INTO payment_methods (id, owner_id, token, label, created_at)"
    " VALUES (:id, :owner_id, :token, :label, :at)"
)
GET_METHOD = sql(
    "SELECT id, owner_id, token, label, created_at FROM payment_methods WHERE id = :id"
)
OWN_METHODS = sql(
    "SELECT id, owner_id, token, label, created_at FROM payment_methods"
    " WHERE owner_id = :owner_id ORDER BY created_at, id"
)
DELETE_METHOD = sql("DELETE FROM payment_methods WHERE id = :id AND owner_id = :owner_id")

_PAYMENT = (
    "SELECT id, order_id, owner_id, account_id, method, amount_cents, currency, status,"
    " auth_ref, reason, attempts, created_at, updated_at FROM payments"
)
_PAYMENT_COLUMNS = _PAYMENT.removeprefix("SELECT ").removesuffix(" FROM payments")
# The order's payment, written as pending unless it exists: either way the row comes back
# (the no-op update on a conflict is what makes RETURNING answer for an existing row).
INSERT_PAYMENT = sql(
    "INSERT INTO payments (id, order_id, owner_id, account_id, method, amount_cents, currency,"
    " status, attempts, created_at, updated_at) VALUES (:id, :order_id, :owner_id, :account_id,"
    " :method, :amount_cents, :currency, :status, 0, :at, :at)"
    f" ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id"
    f" RETURNING {_PAYMENT_COLUMNS}"
)
PAYMENT_FOR_ORDER = sql(f"{_PAYMENT} WHERE order_id = :order_id")
PAYMENTS_FOR_ORDERS = sql(f"{_PAYMENT} WHERE order_id IN :order_ids", lists=["order_ids"])
# PostgreSQL: the order's payment, locked while what is left of it to give back is counted
PAYMENT_FOR_ORDER_LOCKED = sql(f"{_PAYMENT} WHERE order_id = :order_id FOR UPDATE")
_UPDATE = (
    "UPDATE payments SET status = :status, auth_ref = :auth_ref, reason = :reason,"
    " attempts = attempts + 1, updated_at = :at WHERE id = :id"
)
UPDATE_PAYMENT = sql(_UPDATE)
# PostgreSQL: the payment's outcome and the message that tells it, in one statement.
SETTLE_PG = along_with(f"settled AS ({_UPDATE})")
# a refund, once (a credit's refund's id is named from the credit)
INSERT_REFUND_ONCE = sql(
    "INSERT INTO refunds (id, payment_id, amount_cents, reference, created_at)"
    " VALUES (:id, :payment_id, :amount_cents, :reference, :at) ON CONFLICT (id) DO NOTHING"
)
REFUNDED = sql(
    "SELECT coalesce(sum(amount_cents), 0) AS cents FROM refunds WHERE payment_id = :payment_id"
)
REFUNDS_OF = sql(
    "SELECT id, amount_cents, reference, created_at FROM refunds WHERE payment_id = :payment_id"
    " ORDER BY created_at, id"
)
REFUNDS_OF_PAYMENTS = sql(
    "SELECT id, payment_id, amount_cents, reference, created_at FROM refunds"
    " WHERE payment_id IN :payment_ids ORDER BY created_at, id",
    lists=["payment_ids"],
)


async def settle(tx: Tx, outcome: dict[str, Any], told: Envelope) -> None:
    """Write a charge's `outcome` (UPDATE_PAYMENT's parameters) and the message `told`:
    on PostgreSQL in one statement, elsewhere in two."""
    if tx.dialect == "postgresql":
        await emit_along(tx, SETTLE_PG, outcome, told)
        return
    await tx.execute(UPDATE_PAYMENT, outcome)
    await emit(tx, told)
