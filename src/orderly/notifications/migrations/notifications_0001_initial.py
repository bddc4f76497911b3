"""Notifications: the messaging tables."""

from orderly.messaging.migrations.messaging_0001_initial import create_messaging_tables

revision = "notifications_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    pass
