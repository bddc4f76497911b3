"""Stock leaves catalog: the inventory context owns it (lots, reservations, ATP)."""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("stock")


def downgrade() -> None:
    op.create_table(
        "stock",
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), primary_key=True),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
