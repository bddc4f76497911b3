"""Ordering: what an order was credited for units that will not ship."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0010"
down_revision = "ordering_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_credits",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("order_credits_order", "order_credits", ["order_id"])


def downgrade() -> None:
    op.drop_table("order_credits")
