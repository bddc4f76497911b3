"""Ordering: carts (one open cart per customer) and their lines."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0004"
down_revision = "ordering_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "carts_one_open",
        "carts",
        ["owner_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "cart_items",
        sa.Column("cart_id", sa.String(36), sa.ForeignKey("carts.id"), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cart_items")
    op.drop_index("carts_one_open", "carts")
    op.drop_table("carts")
