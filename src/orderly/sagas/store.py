"""Saga tables (kept in the owning context's database) and their queries."""

import sqlalchemy as sa

from orderly.storage import sql


def define(metadata: sa.MetaData) -> None:
    """Add the saga tables to a context's tables."""
    sa.Table(
        "sagas",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(120)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("sagas_state", "state", "updated_at"),
    )
    sa.Table(
        "saga_steps",
        metadata,
        sa.Column("saga_id", sa.String(36), sa.ForeignKey("sagas.id"), primary_key=True),
        sa.Column("step_no", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Index("saga_steps_deadline", "deadline_at"),
    )


INSERT_SAGA = sql(
    "INSERT INTO sagas (id, kind, state, step, data, version, created_at, updated_at)"
    " VALUES (:id, :kind, 'running', 0, :data, 1, :at, :at)"
)
GET_SAGA = sql(
    "SELECT id, kind, state, step, data, reason, version, created_at, updated_at"
    " FROM sagas WHERE id = :id"
)
LIST_SAGAS = sql(
    "SELECT id, kind, state, step, reason, created_at, updated_at FROM sagas"
    " WHERE (:state = '' OR state = :state) ORDER BY created_at DESC, id LIMIT :limit"
)
UPDATE_SAGA = sql(
    "UPDATE sagas SET state = :state, step = :step, reason = :reason, data = :data,"
    " updated_at = :at,"
    " version = version + 1 WHERE id = :id AND version = :version"
)
STEPS = sql(
    "SELECT step_no, name, status, attempts, started_at, finished_at, deadline_at, detail"
    " FROM saga_steps WHERE saga_id = :saga_id ORDER BY step_no"
)
INSERT_STEP = sql(
    "INSERT INTO saga_steps (saga_id, step_no, name, status, attempts, started_at,"
    " finished_at, deadline_at, detail) VALUES (:saga_id, :step_no, :name, :status, :attempts,"
    " :started_at, :finished_at, :deadline_at, :detail)"
)
UPDATE_STEP = sql(
    "UPDATE saga_steps SET status = :status, attempts = :attempts, started_at = :started_at,"
    " finished_at = :finished_at, deadline_at = :deadline_at, detail = :detail"
    " WHERE saga_id = :saga_id AND step_no = :step_no"
)
OVERDUE = sql(
    "SELECT saga_id, step_no FROM saga_steps WHERE deadline_at IS NOT NULL"
    " AND deadline_at < :now ORDER BY deadline_at LIMIT :limit"
)
