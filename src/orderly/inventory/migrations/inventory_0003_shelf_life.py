"""Inventory: each B2B customer's minimum shelf life."""

import sqlalchemy as sa
from alembic import op

revision = "inventory_0003"
down_revision = "inventory_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shelf_life",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("days", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shelf_life")
