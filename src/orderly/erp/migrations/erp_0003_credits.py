"""Erp: credit memos asked for on sales orders, for units that will not ship."""

import sqlalchemy as sa
from alembic import op

revision = "erp_0003"
down_revision = "erp_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_credits",
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
    )
    op.create_index("erp_credits_status", "erp_credits", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_table("erp_credits")
