"""Inventory: the B2B accounts it knows of (identity's account.created), whose shelf life it
may keep. Accounts that already have a shelf life are known."""

import sqlalchemy as sa
from alembic import op

revision = "inventory_0007"
down_revision = "inventory_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
    )
    op.execute(
        sa.text("INSERT INTO inventory_accounts (account_id) SELECT account_id FROM shelf_life")
    )


def downgrade() -> None:
    op.drop_table("inventory_accounts")
