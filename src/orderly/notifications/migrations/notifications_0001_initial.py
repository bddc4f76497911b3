"""Notifications: the users it writes to and the mails it made, with the messaging tables."""

import sqlalchemy as sa
from alembic import op

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "notifications_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
    )
    op.create_table(
        "mails",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(36)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("mails_due", "mails", ["status", "next_attempt_at"])
    op.create_index("mails_order", "mails", ["order_id", "created_at"])


def downgrade() -> None:
    op.drop_index("mails_order", "mails")
    op.drop_index("mails_due", "mails")
    op.drop_table("mails")
    op.drop_table("users")
