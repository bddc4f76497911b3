"""Notifications: whose each order is (for the events that name only the order), and the
optional mails each user turned off."""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "opt_outs",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("mail", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("opt_outs")
    op.drop_table("orders")
