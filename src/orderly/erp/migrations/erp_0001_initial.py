"""Erp: the messaging tables, each order's sales order request, and the sales orders made."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "erp_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "erp_requests",
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
    )
    op.create_index("erp_requests_status", "erp_requests", ["status", "requested_at"])
    op.create_table(
        "sales_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sales_orders")
    op.drop_table("erp_requests")
