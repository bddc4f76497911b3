"""Ordering: each product copy's DEA schedule, and the segment of a cart's account (what
its lines may hold when the cart comes back after its order was cancelled unpaid)."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0006"
down_revision = "ordering_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_products") as batch:
        batch.add_column(sa.Column("dea_schedule", sa.String(4)))
    # Copies made before this revision do not know their schedule: marked "?" (products.
    # UNCHECKED), they are asked of the catalog again before anyone orders or carts them.
    op.execute("UPDATE order_products SET dea_schedule = '?'")
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("segment", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.drop_column("segment")
    with op.batch_alter_table("order_products") as batch:
        batch.drop_column("dea_schedule")
