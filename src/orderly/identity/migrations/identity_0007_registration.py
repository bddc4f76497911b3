"""Identity: an account's registration as compliance checks it (DEA active flag, registered
address, state licence), its CSOS certificate and its order approval threshold."""

import sqlalchemy as sa
from alembic import op

revision = "identity_0007"
down_revision = "identity_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as table:
        table.add_column(
            sa.Column("dea_active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        table.add_column(sa.Column("registered_address", sa.JSON()))
        table.add_column(sa.Column("licence_state", sa.String(2)))
        table.add_column(sa.Column("licence_expires_on", sa.String(10)))
        table.add_column(sa.Column("csos_certificate", sa.Text()))
        table.add_column(sa.Column("approval_threshold_cents", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as table:
        for column in (
            "approval_threshold_cents",
            "csos_certificate",
            "licence_expires_on",
            "licence_state",
            "registered_address",
            "dea_active",
        ):
            table.drop_column(column)
