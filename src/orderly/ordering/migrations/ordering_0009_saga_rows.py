"""Ordering: a saga's steps move into its row (a JSON list), with the current step's
deadline as a column, so that each answer reads and writes one row instead of three."""

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "ordering_0009"
down_revision = "ordering_0008"
branch_labels = None
depends_on = None

_STEP_COLUMNS = (
    "step_no",
    "name",
    "status",
    "attempts",
    "started_at",
    "finished_at",
    "deadline_at",
    "detail",
)
# Untyped columns: each value is carried as the database keeps it (SQLite: ISO text).
_SAGAS = sa.table(
    "sagas",
    sa.column("id"),
    sa.column("step"),
    sa.column("steps", sa.JSON()),
    sa.column("deadline_at"),
)
_STEPS = sa.table(
    "saga_steps",
    sa.column("saga_id"),
    *(sa.column(c) for c in _STEP_COLUMNS[:-1]),
    sa.column("detail", sa.JSON()),
)


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


_TIMES = ("started_at", "finished_at", "deadline_at")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def upgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.add_column(sa.Column("steps", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True)))
    op.create_index("sagas_deadline", "sagas", ["deadline_at"])
    bind = op.get_bind()
    current = dict(bind.execute(sa.select(_SAGAS.c.id, _SAGAS.c.step)).all())
    steps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    deadlines: dict[str, Any] = {}
    ordered = sa.select(_STEPS).order_by(_STEPS.c.saga_id, _STEPS.c.step_no)
    for row in bind.execute(ordered).mappings():
        steps[row["saga_id"]].append({c: _text(row[c]) for c in _STEP_COLUMNS})
        if row["step_no"] == current.get(row["saga_id"]):
            deadlines[row["saga_id"]] = row["deadline_at"]
    if steps:
        update = (
            _SAGAS.update()
            .where(_SAGAS.c.id == sa.bindparam("saga_id"))
            .values(steps=sa.bindparam("new_steps"), deadline_at=sa.bindparam("deadline"))
        )
        bind.execute(
            update,
            [
                {"saga_id": saga_id, "new_steps": rows, "deadline": deadlines.get(saga_id)}
                for saga_id, rows in steps.items()
            ],
        )
    op.drop_index("saga_steps_deadline", "saga_steps")
    op.drop_table("saga_steps")


def downgrade() -> None:
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
    bind = op.get_bind()
    rows = [
        {"saga_id": saga_id, **step, **{at: _time(step[at]) for at in _TIMES}}
        for saga_id, saga_steps in bind.execute(sa.select(_SAGAS.c.id, _SAGAS.c.steps)).all()
        for step in saga_steps or []
    ]
    if rows:
        bind.execute(_STEPS.insert(), rows)
    op.drop_index("sagas_deadline", "sagas")
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("deadline_at")
        batch.drop_column("steps")
