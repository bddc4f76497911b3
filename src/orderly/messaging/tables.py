"""Outbox, inbox, retry and dead-letter tables: every context's database has all four."""

import sqlalchemy as sa

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("aggregate_id", sa.String(128), nullable=False),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.String(128), primary_key=True),
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)

message_retries = sa.Table(
    "message_retries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("consumer", sa.String(128), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("consumer", "message_id"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("consumer", sa.String(128), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("replayed_at", sa.DateTime(timezone=True)),
)


sa.Index(
    "outbox_unpublished",
    outbox.c.id,
    sqlite_where=sa.text("published_at IS NULL"),
    postgresql_where=sa.text("published_at IS NULL"),
)
sa.Index("message_retries_due", message_retries.c.next_attempt_at)
sa.Index("dead_letters_failed_at", dead_letters.c.failed_at)
