"""Identity: the addresses each e-mail has signed in from, and auth_events pruned by age."""

import sqlalchemy as sa
from alembic import op

revision = "identity_0006"
down_revision = "identity_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_clients",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("auth_events_at", "auth_events", ["at"])


def downgrade() -> None:
    op.drop_index("auth_events_at", "auth_events")
    op.drop_table("known_clients")
