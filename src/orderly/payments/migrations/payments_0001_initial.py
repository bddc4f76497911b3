"""Payments: saved payment methods (gateway tokens only), payments per order, refunds."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "payments_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("token", sa.String(80), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("payment_methods_owner", "payment_methods", ["owner_id"])
    op.create_table(
        "payments",
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
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("refunds_payment", "refunds", ["payment_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("payments")
    op.drop_table("payment_methods")
