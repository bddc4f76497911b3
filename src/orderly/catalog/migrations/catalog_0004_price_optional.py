"""Catalog: a product may have no list price yet (directory imports); pricing sets it."""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0004"
down_revision = "catalog_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.alter_column("price_cents", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.alter_column("price_cents", existing_type=sa.BigInteger(), nullable=False)
