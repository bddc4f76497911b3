"""Ordering: checkout channels, one state machine, prices on lines, a product price copy.

Statuses become the state machine's own words (seed 001's are shown by its channel), and
idempotency keys may be held by a request still running (no response yet)."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0003"
down_revision = "ordering_0002"
branch_labels = None
depends_on = None

_RENAMES = (("PENDING_SHIPMENT", "processing"), ("SHIPPED", "shipped"), ("DELIVERED", "delivered"))


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="direct")
        )
        batch.add_column(sa.Column("total_cents", sa.BigInteger()))
        batch.add_column(sa.Column("currency", sa.String(3)))
        batch.add_column(sa.Column("payment_method", sa.String(80)))
        batch.add_column(sa.Column("cart_id", sa.String(36)))
    with op.batch_alter_table("order_items") as batch:
        batch.add_column(sa.Column("unit_price_cents", sa.BigInteger()))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("response", existing_type=sa.JSON(), nullable=True)
    for old, new in _RENAMES:
        for table in ("orders", "order_history"):
            op.execute(sa.text(f"UPDATE {table} SET status = '{new}' WHERE status = '{old}'"))
    op.create_table(
        "order_products",
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price_cents", sa.BigInteger()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("order_products")
    for old, new in _RENAMES:
        for table in ("orders", "order_history"):
            op.execute(sa.text(f"UPDATE {table} SET status = '{old}' WHERE status = '{new}'"))
    with op.batch_alter_table("order_items") as batch:
        batch.drop_column("unit_price_cents")
    with op.batch_alter_table("orders") as batch:
        for column in ("cart_id", "payment_method", "currency", "total_cents", "channel"):
            batch.drop_column(column)
