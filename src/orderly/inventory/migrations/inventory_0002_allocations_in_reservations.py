"""Inventory: a hard reservation keeps its lots in its own row (one write fewer per
reservation); the allocations table goes, its rows copied over."""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "inventory_0002"
down_revision = "inventory_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("allocations", sa.JSON()))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT a.reservation_id, a.lot_id, a.quantity, l.lot_number, l.expires_on"
            " FROM allocations a JOIN lots l ON l.id = a.lot_id"
            " ORDER BY a.reservation_id, l.expires_on, l.lot_number"
        )
    )
    kept: dict[str, list[dict[str, object]]] = defaultdict(list)
    for reservation_id, lot_id, quantity, lot_number, expires_on in rows:
        kept[reservation_id].append(
            {"lotId": lot_id, "lot": lot_number, "quantity": int(quantity), "expiresOn": expires_on}
        )
    reservations = sa.table("reservations", sa.column("id"), sa.column("allocations", sa.JSON()))
    for reservation_id, allocations in kept.items():
        bind.execute(
            reservations.update()
            .where(reservations.c.id == reservation_id)
            .values(allocations=allocations)
        )
    op.drop_table("allocations")


def downgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("reservation_id", sa.String(36), primary_key=True),
        sa.Column("lot_id", sa.String(36), primary_key=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("allocations")
