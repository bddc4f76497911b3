"""History: the events of each order, the projections' generations, the order view and the
daily analytics, with the messaging tables."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "history_0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMES = (
    "placed_at",
    "held_at",
    "passed_at",
    "confirmed_at",
    "paid_at",
    "waved_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "failed_at",
)
_COUNTS = (
    "orders",
    "units",
    "revenue_cents",
    "confirmed",
    "cancelled",
    "failed",
    "shipped",
    "delivered",
    "units_short",
    "refunded_cents",
)


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "order_events",
        sa.Column("seq", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.UniqueConstraint("message_id", "order_id", name="order_events_once"),
    )
    op.create_index("order_events_order", "order_events", ["order_id", "seq"])
    op.create_index("order_events_occurred", "order_events", ["occurred_at"])
    projections = op.create_table(
        "projections",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        projections,
        [
            {"name": "orders", "generation": 1, "rebuilt_at": None},
            {"name": "analytics", "generation": 1, "rebuilt_at": None},
        ],
    )
    op.create_table(
        "order_view",
        sa.Column("generation", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36)),
        sa.Column("account_id", sa.String(64)),
        sa.Column("channel", sa.String(64)),
        sa.Column("currency", sa.String(3)),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.DateTime(timezone=True)) for name in _TIMES[:6]),
        sa.Column("wave_id", sa.String(64)),
        *(sa.Column(name, sa.DateTime(timezone=True)) for name in _TIMES[6:]),
        sa.Column("reason", sa.String(200)),
        sa.Column("sales_order_number", sa.String(64)),
        sa.Column("carrier", sa.String(64)),
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("units_short", sa.BigInteger(), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("order_view_placed", "order_view", ["generation", "placed_at"])
    op.create_index("order_view_account", "order_view", ["generation", "account_id", "placed_at"])
    op.create_table(
        "order_daily",
        sa.Column("generation", sa.Integer(), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
    )


def downgrade() -> None:
    op.drop_table("order_daily")
    op.drop_index("order_view_account", "order_view")
    op.drop_index("order_view_placed", "order_view")
    op.drop_table("order_view")
    op.drop_table("projections")
    op.drop_index("order_events_occurred", "order_events")
    op.drop_index("order_events_order", "order_events")
    op.drop_table("order_events")
