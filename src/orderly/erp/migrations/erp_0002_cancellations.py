"""Erp: the sales orders to cancel because their orders were cancelled."""

import sqlalchemy as sa
from alembic import op

revision = "erp_0002"
down_revision = "erp_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_cancellations",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("number", sa.String(20)),
        sa.Column("reason", sa.String(400)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("erp_cancellations_status", "erp_cancellations", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_table("erp_cancellations")
