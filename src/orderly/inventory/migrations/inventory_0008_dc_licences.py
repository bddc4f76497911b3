"""Inventory: each distribution centre's DEA registration (the schedules it may handle) and
the states it is licensed to ship to (null: every state). `MAIN` keeps every schedule and
every state, as before; other DCs handle no controlled substance until an operator says so."""

import sqlalchemy as sa
from alembic import op

revision = "inventory_0008"
down_revision = "inventory_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dcs") as table:
        table.add_column(
            sa.Column("dea_schedules", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        table.add_column(sa.Column("licensed_states", sa.JSON()))
    op.execute(
        sa.text(
            'UPDATE dcs SET dea_schedules = \'["2","2N","3","3N","4","5"]\' WHERE code = \'MAIN\''
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("dcs") as table:
        table.drop_column("licensed_states")
        table.drop_column("dea_schedules")
