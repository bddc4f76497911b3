"""Ordering: who placed each order (user and, for B2B, account)."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0002"
down_revision = "ordering_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(36)))
        batch.add_column(sa.Column("account_id", sa.String(36)))
    op.create_index("orders_owner", "orders", ["owner_id", "created_at"])
    op.create_index("orders_account", "orders", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("orders_account", "orders")
    op.drop_index("orders_owner", "orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("account_id")
        batch.drop_column("owner_id")
