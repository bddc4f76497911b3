"""Fulfillment: whose order each shipment carries, so its owner can follow it."""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0002"
down_revision = "fulfillment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(36)))
        batch.add_column(sa.Column("account_id", sa.String(36)))
    op.create_index("shipments_owner", "shipments", ["owner_id", "created_at"])


def downgrade() -> None:
    op.drop_index("shipments_owner", "shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("account_id")
        batch.drop_column("owner_id")
