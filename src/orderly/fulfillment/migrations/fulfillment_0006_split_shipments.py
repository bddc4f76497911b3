"""Fulfillment: an order whose lines ship from more than one distribution centre ships as a
shipment per centre (`part`, `dc`), joins a wave in each, and is packed in each.

The tables are made anew and their rows copied: SQLite cannot drop the unique constraint
on an order's one shipment, nor change a primary key, in place. Processes of the version
before must be stopped first: they insert shipments on the old constraint.
"""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0006"
down_revision = "fulfillment_0005"
branch_labels = None
depends_on = None

_STAMP = sa.DateTime(timezone=True)
_SHIPMENT = (
    "id, order_id, status, items, shipping_address, tracking_number, carrier, shipped_at,"
    " delivered_at, delivery_location, created_at, updated_at, owner_id, account_id, warehouse"
)


def upgrade() -> None:
    op.create_table(
        "shipments_0006",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("dc", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=False),
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("carrier", sa.String(64)),
        sa.Column("shipped_at", _STAMP),
        sa.Column("delivered_at", _STAMP),
        sa.Column("delivery_location", sa.String(200)),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("updated_at", _STAMP, nullable=False),
        sa.Column("owner_id", sa.String(36)),
        sa.Column("account_id", sa.String(36)),
        sa.Column("warehouse", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(f"INSERT INTO shipments_0006 ({_SHIPMENT}) SELECT {_SHIPMENT} FROM shipments")
    op.drop_table("shipments")
    op.rename_table("shipments_0006", "shipments")
    _name_key("shipments")
    op.create_index("shipments_order_part", "shipments", ["order_id", "part"], unique=True)
    op.create_index("shipments_owner", "shipments", ["owner_id", "created_at"])

    op.create_table(
        "wave_orders_0006",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("wave_id", sa.String(36), primary_key=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO wave_orders_0006 (order_id, wave_id, lines, units)"
        " SELECT order_id, wave_id, lines, units FROM wave_orders"
    )
    op.drop_table("wave_orders")
    op.rename_table("wave_orders_0006", "wave_orders")
    _name_key("wave_orders")
    op.create_index("wave_orders_wave", "wave_orders", ["wave_id"])

    op.create_table(
        "packs_0006",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("dc", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("packages", sa.Integer()),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("packed_at", _STAMP),
        sa.Column("packed_by", sa.String(36)),
    )
    op.execute(
        "INSERT INTO packs_0006 (order_id, dc, status, packages, created_at, packed_at, packed_by)"
        " SELECT order_id, COALESCE((SELECT MIN(a.dc) FROM allocations a"
        " WHERE a.order_id = packs.order_id), ''), status, packages, created_at, packed_at,"
        " packed_by FROM packs"
    )
    op.drop_table("packs")
    op.rename_table("packs_0006", "packs")
    _name_key("packs")
    op.create_index("packs_status", "packs", ["status", "created_at"])


def _name_key(table: str) -> None:
    """PostgreSQL named the new table's primary key after it: give it the table's name."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_0006_pkey TO {table}_pkey")


def downgrade() -> None:
    """Back to one shipment, one wave and one pack per order: refused while an order is
    split (its parts would be lost), else the tables made as before and their rows copied."""
    split = op.get_bind().execute(sa.text("SELECT count(*) FROM shipments WHERE part > 0"))
    if split.scalar():
        raise RuntimeError("orders are shipped in parts: fulfillment_0006 cannot be undone")
    op.create_table(
        "shipments_0005",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False, unique=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=False),
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("carrier", sa.String(64)),
        sa.Column("shipped_at", _STAMP),
        sa.Column("delivered_at", _STAMP),
        sa.Column("delivery_location", sa.String(200)),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("updated_at", _STAMP, nullable=False),
        sa.Column("owner_id", sa.String(36)),
        sa.Column("account_id", sa.String(36)),
        sa.Column("warehouse", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(f"INSERT INTO shipments_0005 ({_SHIPMENT}) SELECT {_SHIPMENT} FROM shipments")
    op.drop_table("shipments")
    op.rename_table("shipments_0005", "shipments")
    op.create_index("shipments_owner", "shipments", ["owner_id", "created_at"])

    op.create_table(
        "wave_orders_0005",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("wave_id", sa.String(36), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO wave_orders_0005 (order_id, wave_id, lines, units)"
        " SELECT order_id, min(wave_id), sum(lines), sum(units) FROM wave_orders GROUP BY order_id"
    )
    op.drop_table("wave_orders")
    op.rename_table("wave_orders_0005", "wave_orders")
    op.create_index("wave_orders_wave", "wave_orders", ["wave_id"])

    op.create_table(
        "packs_0005",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("packages", sa.Integer()),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("packed_at", _STAMP),
        sa.Column("packed_by", sa.String(36)),
    )
    op.execute(
        "INSERT INTO packs_0005 (order_id, status, packages, created_at, packed_at, packed_by)"
        " SELECT order_id, min(status), sum(packages), min(created_at), max(packed_at),"
        " min(packed_by) FROM packs GROUP BY order_id"
    )
    op.drop_table("packs")
    op.rename_table("packs_0005", "packs")
    op.create_index("packs_status", "packs", ["status", "created_at"])
