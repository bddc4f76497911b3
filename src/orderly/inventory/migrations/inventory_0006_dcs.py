"""Inventory: distribution centres are made on purpose; `MAIN` is in every deployment.

The DCs receipts already made (lots, safety stock) are kept as DCs, named by their code."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "inventory_0006"
down_revision = "inventory_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dcs",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    now = datetime.now(UTC)
    postgres = op.get_bind().dialect.name == "postgresql"
    # SQLite keeps the ISO text with its offset, as the stores write it
    at = now if postgres else now.isoformat(timespec="microseconds")
    made = sa.text(
        "INSERT INTO dcs (code, name, created_at) VALUES ('MAIN', 'Main distribution centre', :at)"
    )
    op.execute(made.bindparams(at=at))
    known = sa.text(
        "INSERT INTO dcs (code, name, created_at) SELECT dc, dc, :at FROM"
        " (SELECT dc FROM lots UNION SELECT dc FROM safety_stock) AS used WHERE dc <> 'MAIN'"
    )
    op.execute(known.bindparams(at=at))


def downgrade() -> None:
    op.drop_table("dcs")
