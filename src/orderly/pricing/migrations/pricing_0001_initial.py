"""Pricing: WAC and 340B prices by effective date, contracts with tiers, the accounts pricing
knows, and price locks."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "pricing_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "wac_prices",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("effective_from", sa.String(10), primary_key=True),
        sa.Column("cents", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "prices_340b",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("effective_from", sa.String(10), primary_key=True),
        sa.Column("cents", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("starts_on", sa.String(10), nullable=False),
        sa.Column("ends_on", sa.String(10)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "contract_prices",
        sa.Column("contract_id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("min_quantity", sa.BigInteger(), primary_key=True),
        sa.Column("cents", sa.BigInteger(), nullable=False),
    )
    op.create_index("contract_prices_product", "contract_prices", ["product_id"])
    op.create_table(
        "price_accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("is_340b", sa.Boolean(), nullable=False),
        sa.Column("gpo", sa.String(64)),
    )
    op.create_table(
        "price_locks",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("contract_id", sa.String(36)),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "price_locks",
        "price_accounts",
        "contract_prices",
        "contracts",
        "prices_340b",
        "wac_prices",
    ):
        op.drop_table(table)
