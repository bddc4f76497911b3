"""Compliance: legal holds, which keep an order's or an account's records from retention."""

import sqlalchemy as sa
from alembic import op

revision = "compliance_0002"
down_revision = "compliance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(64)),
        sa.Column("account_id", sa.String(36)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(64), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(64)),
        sa.Column("lifted_at", sa.DateTime(timezone=True)),
    )
    op.create_index("legal_holds_order", "legal_holds", ["order_id"])
    op.create_index("legal_holds_account", "legal_holds", ["account_id"])


def downgrade() -> None:
    op.drop_index("legal_holds_account", "legal_holds")
    op.drop_index("legal_holds_order", "legal_holds")
    op.drop_table("legal_holds")
