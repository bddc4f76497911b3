"""Fulfillment: what short picks left, backordered (and shipped later) or their lines
cancelled."""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0005"
down_revision = "fulfillment_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backorders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fulfillment_id", sa.String(36)),
        sa.Column("releases", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reason", sa.String(120)),
        sa.Column("carrier", sa.String(64)),
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("shipped_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("backorders_status", "backorders", ["status", "created_at"])
    op.create_index("backorders_order", "backorders", ["order_id"])
    op.create_index("backorders_fulfillment", "backorders", ["fulfillment_id"])
    op.create_table(
        "line_cancellations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("line_cancellations_order", "line_cancellations", ["order_id"])


def downgrade() -> None:
    op.drop_table("line_cancellations")
    op.drop_table("backorders")
