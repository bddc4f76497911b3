"""History: the baseline of each order whose events retention removed (what they folded to)."""

import sqlalchemy as sa
from alembic import op

revision = "history_0002"
down_revision = "history_0001"
branch_labels = None
depends_on = None

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


def upgrade() -> None:
    op.create_table(
        "order_baselines",
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
        sa.Column("forgotten", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("order_baselines")
