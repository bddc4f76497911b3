"""Compliance: the messaging tables; account and product copies, decisions, checks, holds,
and suspicious order monitoring's settings, baseline and orders."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "compliance_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "compliance_accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("dea_number", sa.String(16)),
        sa.Column("dea_schedules", sa.JSON(), nullable=False),
        sa.Column("dea_expires_on", sa.String(10)),
        sa.Column("dea_active", sa.Boolean(), nullable=False),
        sa.Column("registered_address", sa.JSON()),
        sa.Column("licence_state", sa.String(8)),
        sa.Column("licence_expires_on", sa.String(10)),
        sa.Column("can_order_schedule_ii", sa.Boolean(), nullable=False),
        sa.Column("csos_certificate", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "compliance_products",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ndc", sa.String(16)),
        sa.Column("dea_schedule", sa.String(8)),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("units_per_package", sa.Integer(), nullable=False),
        sa.Column("serialized", sa.Boolean(), nullable=False),
        sa.Column("configured", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "compliance_decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32)),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", sa.Text()),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True)),
        sa.Column("void_reason", sa.String(200)),
    )
    op.create_index("compliance_decisions_order", "compliance_decisions", ["order_id", "run"])
    op.create_table(
        "compliance_checks",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("run", sa.Integer(), primary_key=True),
        sa.Column("decision_id", sa.String(36)),
    )
    op.create_table(
        "compliance_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("som", sa.JSON(), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("saga_id", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("traceparent", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("note", sa.Text()),
    )
    op.create_index("compliance_holds_status", "compliance_holds", ["status", "created_at"])
    op.create_index("compliance_holds_order", "compliance_holds", ["order_id"])
    op.create_table(
        "som_settings",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("family", sa.String(64), primary_key=True),
        sa.Column("size_factor", sa.String(16), nullable=False),
        sa.Column("frequency_factor", sa.String(16), nullable=False),
        sa.Column("first_order", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "som_baseline",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("family", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
    )
    op.create_table(
        "som_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("run", sa.Integer(), primary_key=True),
        sa.Column("family", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
    )
    op.create_index("som_orders_account", "som_orders", ["account_id", "family", "day"])


def downgrade() -> None:
    for table in (
        "som_orders",
        "som_baseline",
        "som_settings",
        "compliance_holds",
        "compliance_checks",
        "compliance_decisions",
        "compliance_products",
        "compliance_accounts",
    ):
        op.drop_table(table)
