"""Fulfillment: a released backorder ships as a shipment of its order (`backorder_id`); a
product's open backorders are found as its stock is received."""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0007"
down_revision = "fulfillment_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("backorder_id", sa.String(36)))
    op.create_index("shipments_backorder", "shipments", ["backorder_id"])
    op.create_index("backorders_product", "backorders", ["product_id", "status"])


def downgrade() -> None:
    op.drop_index("backorders_product", "backorders")
    op.drop_index("shipments_backorder", "shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("backorder_id")
