"""Pricing: whether a WAC set ahead of its day was announced (`price.wac_changed`) once in
force (every WAC already kept counts as announced); the orders cancelled, whose locks are
not made if they come after."""

import sqlalchemy as sa
from alembic import op

revision = "pricing_0002"
down_revision = "pricing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wac_prices") as batch:
        batch.add_column(
            sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "voided_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voided_orders")
    with op.batch_alter_table("wac_prices") as batch:
        batch.drop_column("announced")
