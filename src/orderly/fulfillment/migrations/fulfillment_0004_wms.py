"""Fulfillment: what an external WMS is to be told of each order, until it was."""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0004"
down_revision = "fulfillment_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wms_requests",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("wms_requests_pending", "wms_requests", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("wms_requests")
