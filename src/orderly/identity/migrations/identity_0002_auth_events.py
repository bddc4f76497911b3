"""Identity: an audit of authentication attempts, also read to throttle brute force."""

import sqlalchemy as sa
from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("auth_events_email_at", "auth_events", ["email", "at"])
    op.create_index("auth_events_client_at", "auth_events", ["client", "at"])


def downgrade() -> None:
    op.drop_table("auth_events")
