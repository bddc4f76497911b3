"""Inventory: products it stocks, lots per distribution centre, reservations, allocations."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "inventory_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "inventory_items",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "safety_stock",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("dc", sa.String(32), primary_key=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("dc", sa.String(32), nullable=False),
        sa.Column("lot_number", sa.String(20), nullable=False),
        sa.Column("expires_on", sa.String(10)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("product_id", "dc", "lot_number", name="lots_product_dc_lot"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("dc", sa.String(32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", "line", "kind", name="reservations_command"),
    )
    op.create_index("reservations_live", "reservations", ["product_id", "status", "kind"])
    op.create_table(
        "allocations",
        sa.Column("reservation_id", sa.String(36), primary_key=True),
        sa.Column("lot_id", sa.String(36), primary_key=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("allocations", "reservations", "lots", "safety_stock", "inventory_items"):
        op.drop_table(table)
