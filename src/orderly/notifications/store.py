"""Notifications' tables and statements: the users it writes to, whose each order is, the
mails each user turned off, and every mail it made."""

import sqlalchemy as sa

from orderly.storage import Row, sql

metadata = sa.MetaData()

# Identity's users, as much as a mail needs (from `user.created`).
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("first_name", sa.String(200), nullable=False),
    sa.Column("last_name", sa.String(200), nullable=False),
)

# Ordering's orders, as much as a mail needs (from `order.created`): whose each one is, for
# the events that name only the order (`order.status_updated`, `compliance.held`).
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
)

# The optional mails (`domain.OPTIONAL`) a user turned off; a mail not named here goes.
opt_outs = sa.Table(
    "opt_outs",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("mail", sa.String(32), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# Every mail, whatever became of it: queued (waiting for its next try at next_attempt_at),
# sent, failed (refused for good, or out of tries), unsent (no SMTP server configured) or
# skipped (its user turned that kind of mail off).
mails = sa.Table(
    "mails",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # one mail per thing it tells: a repeated event makes no second mail
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(36)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.String(200)),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("mails_due", "status", "next_attempt_at"),
    sa.Index("mails_order", "order_id", "created_at"),
)

UPSERT_USER = sql(
    "INSERT INTO users (user_id, email, first_name, last_name)"
    " VALUES (:user_id, :email, :first_name, :last_name)"
    " ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,"
    " first_name = excluded.first_name, last_name = excluded.last_name"
)
USER = sql("SELECT user_id, email, first_name, last_name FROM users WHERE user_id = :user_id")

INSERT_ORDER = sql(
    "INSERT INTO orders (order_id, user_id) VALUES (:order_id, :user_id)"
    " ON CONFLICT (order_id) DO NOTHING"
)
ORDER_OWNER = sql("SELECT user_id FROM orders WHERE order_id = :order_id")

OPT_OUTS = sql("SELECT mail FROM opt_outs WHERE user_id = :user_id ORDER BY mail")
CLEAR_OPT_OUTS = sql("DELETE FROM opt_outs WHERE user_id = :user_id")
INSERT_OPT_OUT = sql(
    "INSERT INTO opt_outs (user_id, mail, at) VALUES (:user_id, :mail, :at)"
    " ON CONFLICT (user_id, mail) DO NOTHING"
)

_COLUMNS = (
    "id, recipient, subject, body, template, order_id, status, attempts, last_error,"
    " next_attempt_at, created_at, sent_at"
)
INSERT_MAIL = sql(
    "INSERT INTO mails (id, dedupe_key, recipient, subject, body, template, order_id, status,"
    " attempts, next_attempt_at, created_at)"
    " VALUES (:id, :dedupe_key, :recipient, :subject, :body, :template, :order_id, :status,"
    " 0, :next_attempt_at, :at)"
    " ON CONFLICT (dedupe_key) DO NOTHING"
)
MAIL = sql(f"SELECT {_COLUMNS} FROM mails WHERE id = :id")
BY_ORDER = sql(f"SELECT {_COLUMNS} FROM mails WHERE order_id = :order_id ORDER BY created_at, id")
LATEST = sql(f"SELECT {_COLUMNS} FROM mails ORDER BY created_at DESC, id LIMIT :limit")
DUE = sql(
    "SELECT id FROM mails WHERE status = 'queued' AND next_attempt_at <= :now"
    " ORDER BY next_attempt_at, id LIMIT :limit"
)
NEXT_DUE = sql("SELECT MIN(next_attempt_at) AS at FROM mails WHERE status = 'queued'")
# Taking a mail to send: its try is counted and it is not due again until the lease ends,
# so another sender leaves it alone and a sender that died mid-send is stood in for then.
# The WHERE is checked again under the row's lock: two senders never both take it.
CLAIM = sql(
    "UPDATE mails SET attempts = attempts + 1, next_attempt_at = :lease"
    " WHERE id = :id AND status = 'queued' AND next_attempt_at <= :now"
)
MARK_SENT = sql(
    "UPDATE mails SET status = 'sent', sent_at = :at, last_error = NULL,"
    " next_attempt_at = NULL WHERE id = :id AND status = 'queued'"
)
MARK_RETRY = sql(
    "UPDATE mails SET last_error = :error, next_attempt_at = :at"
    " WHERE id = :id AND status = 'queued'"
)
MARK_FAILED = sql(
    "UPDATE mails SET status = 'failed', last_error = :error, next_attempt_at = NULL"
    " WHERE id = :id AND status = 'queued'"
)


def mail_view(row: Row) -> dict[str, object]:
    """A mail as the log shows it (`to`: `recipient` is the column, `to` a reserved word)."""
    view = dict(row)
    view["to"] = view.pop("recipient")
    view.pop("next_attempt_at", None)
    return view
