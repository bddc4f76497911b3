"""Inventory: a soft hold names the customer (and B2B account) whose cart holds it."""

import sqlalchemy as sa
from alembic import op

revision = "inventory_0004"
down_revision = "inventory_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(36)))
        batch.add_column(sa.Column("account_id", sa.String(36)))


def downgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("account_id")
        batch.drop_column("customer_id")
