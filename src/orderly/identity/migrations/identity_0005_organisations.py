"""Identity: B2B pharmacy accounts (organisations) with their DEA registration and 340B data."""

import sqlalchemy as sa
from alembic import op

revision = "identity_0005"
down_revision = "identity_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("dea_number", sa.String(9), nullable=False),
        sa.Column("dea_schedules", sa.JSON(), nullable=False),
        sa.Column("dea_expires_on", sa.String(10), nullable=False),
        sa.Column("state_licence", sa.String(64), nullable=False),
        sa.Column("id_340b", sa.String(32)),
        sa.Column("can_order_schedule_ii", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("organisations")
