"""Ordering: sagas and their steps, orders to re-verify, ATP snapshots for the breaker's
fallback, and which order an idempotency key made."""

import sqlalchemy as sa
from alembic import op

revision = "ordering_0005"
down_revision = "ordering_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sagas",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(120)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sagas_state", "sagas", ["state", "updated_at"])
    op.create_table(
        "saga_steps",
        sa.Column("saga_id", sa.String(36), sa.ForeignKey("sagas.id"), primary_key=True),
        sa.Column("step_no", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("saga_steps_deadline", "saga_steps", ["deadline_at"])
    op.create_table(
        "atp_snapshots",
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("reverify", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("order_id", sa.String(36)))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("order_id")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("reverify")
    op.drop_table("atp_snapshots")
    op.drop_table("saga_steps")
    op.drop_table("sagas")
