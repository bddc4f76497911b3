"""Saga tables (kept in the owning context's database) and their queries."""

import sqlalchemy as sa

from orderly.storage import sql


def define(metadata: sa.MetaData) -> None:
    """Add the saga table to a context's tables.

    A saga is one row: its steps (status, attempts, timings, the answer that ended each) are a
    JSON list in it, since they are only ever read and written with their saga, and the
    current step's deadline is a column of its own, indexed, for the sweep that finds steps
    past theirs. Each answer then reads one row and writes one."""
    sa.Table(
        "sagas",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.String(120)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("sagas_state", "state", "updated_at"),
        sa.Index("sagas_deadline", "deadline_at"),
    )


INSERT_SAGA = sql(
    "INSERT INTO sagas (id, kind, state, step, data, steps, deadline_at, reason, version,"
    " created_at, updated_at) VALUES (:id, :kind, :state, :step, :data, :steps, :deadline_at,"
    " :reason, 1, :at, :at)"
)
GET_SAGA = sql(
    "SELECT id, kind, state, step, data, steps, deadline_at, reason, version FROM sagas"
    " WHERE id = :id"
)
# PostgreSQL: the row of a saga about to be moved, locked, so that two messages moving it
# at once (an answer, a signal from an HTTP request, a deadline) take turns rather than one
# failing its version check (SQLite has one writer: nothing to lock)
GET_SAGA_FOR_UPDATE = sql(
    "SELECT id, kind, state, step, data, steps, deadline_at, reason, version FROM sagas"
    " WHERE id = :id FOR UPDATE"
)
LIST_SAGAS = sql(
    "SELECT id, kind, state, step, reason, created_at, updated_at FROM sagas"
    " WHERE (:state = '' OR state = :state) ORDER BY created_at DESC, id LIMIT :limit"
)
UPDATE_SAGA = sql(
    "UPDATE sagas SET state = :state, step = :step, reason = :reason, data = :data,"
    " steps = :steps, deadline_at = :deadline_at, updated_at = :at, version = version + 1"
    " WHERE id = :id AND version = :version"
)
OVERDUE = sql(
    "SELECT id, step FROM sagas WHERE deadline_at IS NOT NULL AND deadline_at < :now"
    " ORDER BY deadline_at LIMIT :limit"
)
