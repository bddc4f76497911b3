"""Fulfillment: the warehouse floor (seed 004). Each order's fulfillment is a saga here; the
products a picker scans, the lots allocated to each order, waves, pick tasks and the waits
escalated to an operator are fulfillment's own."""

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0003"
down_revision = "fulfillment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(
            sa.Column("warehouse", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "sagas",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.String(120)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sagas_state", "sagas", ["state", "updated_at"])
    op.create_index("sagas_deadline", "sagas", ["deadline_at"])
    op.create_table(
        "fulfillment_products",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("gtin", sa.String(14)),
    )
    op.create_table(
        "allocations",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("dc", sa.String(32), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("expires_on", sa.String(10)),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    op.create_table(
        "waves",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dc", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("released_by", sa.String(36)),
    )
    op.create_index("waves_status", "waves", ["status", "opened_at"])
    op.create_table(
        "wave_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("wave_id", sa.String(36), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
    )
    op.create_index("wave_orders_wave", "wave_orders", ["wave_id"])
    op.create_table(
        "pick_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("wave_id", sa.String(36)),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("gtin", sa.String(14)),
        sa.Column("dc", sa.String(32), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("expires_on", sa.String(10)),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("picked", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("pick_tasks_order", "pick_tasks", ["order_id"])
    op.create_index("pick_tasks_wave", "pick_tasks", ["wave_id", "status"])
    op.create_table(
        "packs",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("packages", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("packed_at", sa.DateTime(timezone=True)),
        sa.Column("packed_by", sa.String(36)),
    )
    op.create_index("packs_status", "packs", ["status", "created_at"])
    op.create_table(
        "escalations",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "escalations",
        "packs",
        "pick_tasks",
        "wave_orders",
        "waves",
        "allocations",
        "fulfillment_products",
        "sagas",
    ):
        op.drop_table(table)
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("warehouse")
