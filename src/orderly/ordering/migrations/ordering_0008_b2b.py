"""Ordering: a B2B order's sales order number, and why its checkout failed."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0008"
down_revision = "ordering_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("sales_order_number", sa.String(32)))
        batch.add_column(sa.Column("failure", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("failure")
        batch.drop_column("sales_order_number")
