"""History's tables and statements: the events of each order, as they arrived, and the
projections made from them, each row under the generation it belongs to (a rebuild writes a
new generation while the live one keeps serving, then takes its place)."""

import sqlalchemy as sa
from sqlalchemy import text

from orderly.history.domain import COUNTS, FACT_COLUMNS
from orderly.messaging.tables import BigId
from orderly.storage import Statement, sql

metadata = sa.MetaData()

# Every event about an order, once per order it names (a wave's release names several), in
# the order it arrived (`seq`), with its whole envelope.
order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("envelope", sa.JSON(), nullable=False),
    sa.UniqueConstraint("message_id", "order_id", name="order_events_once"),
    sa.Index("order_events_order", "order_id", "seq"),
    sa.Index("order_events_occurred", "occurred_at"),
)

# Which generation of each projection is live, and for a rebuild, how far it has read.
projections = sa.Table(
    "projections",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("generation", sa.Integer(), nullable=False),
    sa.Column("rebuilt_at", sa.DateTime(timezone=True)),
)

_TIMES = {
    "placed_at",
    "held_at",
    "passed_at",
    "confirmed_at",
    "paid_at",
    "waved_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "failed_at",
    "last_event_at",
}
_NUMBERS = {"lines", "units", "total_cents", "units_short", "refunded_cents"}


def _fact_column(name: str) -> sa.Column[object]:
    if name in _TIMES:
        return sa.Column(name, sa.DateTime(timezone=True))
    if name in _NUMBERS:
        return sa.Column(name, sa.BigInteger(), nullable=False)
    width = {"user_id": 36, "currency": 3, "reason": 200}.get(name, 64)
    return sa.Column(name, sa.String(width))


# The order view: one row per order and generation, its facts and the status they give.
order_view = sa.Table(
    "order_view",
    metadata,
    sa.Column("generation", sa.Integer(), primary_key=True),
    *(
        sa.Column("order_id", sa.String(36), primary_key=True)
        if name == "order_id"
        else _fact_column(name)
        for name in FACT_COLUMNS
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("order_view_placed", "generation", "placed_at"),
    sa.Index("order_view_account", "generation", "account_id", "placed_at"),
)

# Analytics: per generation, day of placement, channel and account ("" for none), the sums
# of each order's share (`domain.contribution`).
order_daily = sa.Table(
    "order_daily",
    metadata,
    sa.Column("generation", sa.Integer(), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
)

RECORD = sql(
    "INSERT INTO order_events"
    " (order_id, message_id, type, source, occurred_at, recorded_at, envelope)"
    " VALUES (:order_id, :message_id, :type, :source, :occurred_at, :recorded_at, :envelope)"
    " ON CONFLICT (message_id, order_id) DO NOTHING"
)
EVENTS_OF = sql(
    "SELECT seq, type, source, occurred_at, recorded_at, envelope FROM order_events"
    " WHERE order_id = :order_id ORDER BY occurred_at, seq"
)
# A rebuild reads the history in the order the live projections saw it.
EVENTS_AFTER = sql(
    "SELECT seq, order_id, type, occurred_at, envelope FROM order_events"
    " WHERE seq > :after AND seq <= :upto ORDER BY seq LIMIT :limit"
)
# Events a rebuild's replay did not see among those it read past: on PostgreSQL a sequence
# number is taken at the insert and seen at the commit, which may come later.
EVENTS_AMONG = sql(
    "SELECT seq, order_id, type, occurred_at, envelope FROM order_events"
    " WHERE CAST(seq AS VARCHAR(20)) IN :seqs ORDER BY seq",
    lists=("seqs",),
)
LAST_SEQ = sql("SELECT COALESCE(MAX(seq), 0) AS seq FROM order_events")

_GENERATIONS = "SELECT name, generation FROM projections"
# A live event reads the generations it writes to, and holds them (on PostgreSQL) until it
# commits: a rebuild's switch waits for it, and it for the switch.
GENERATIONS_HELD = Statement(text(_GENERATIONS), {"postgresql": text(_GENERATIONS + " FOR SHARE")})
GENERATIONS = sql(_GENERATIONS)
_ONE = "SELECT name, generation, rebuilt_at FROM projections WHERE name = :name"
PROJECTION_HELD = Statement(text(_ONE), {"postgresql": text(_ONE + " FOR UPDATE")})
PROJECTION = sql(_ONE)
SWITCH = sql("UPDATE projections SET generation = :generation, rebuilt_at = :at WHERE name = :name")

# Retention: an order whose events have all passed their time keeps, in their place, what they
# folded to; a rebuild starts the order from it. An order removed from ordering is forgotten:
# its baseline keeps only what the day's figures need.
order_baselines = sa.Table(
    "order_baselines",
    metadata,
    *(
        sa.Column("order_id", sa.String(36), primary_key=True)
        if name == "order_id"
        else _fact_column(name)
        for name in FACT_COLUMNS
    ),
    sa.Column("forgotten", sa.Boolean(), nullable=False, server_default=sa.false()),
)
# orders not held whose newest event is older than the cutoff
_QUIET = (
    "SELECT order_id FROM order_events WHERE NOT (order_id IN :held) GROUP BY order_id"
    " HAVING MAX(occurred_at) < :before"
)
QUIET_ORDERS = sql(_QUIET + " ORDER BY order_id LIMIT :limit", lists=("held",))
QUIET_EVENTS = sql(
    f"SELECT COUNT(*) AS n FROM order_events WHERE order_id IN ({_QUIET})", lists=("held",)
)
EVENTS_OF_ORDERS = sql(
    "SELECT seq, order_id, type, occurred_at, envelope FROM order_events"
    " WHERE order_id IN :ids ORDER BY seq",
    lists=("ids",),
)
BASELINES_OF = sql(
    f"SELECT {', '.join(FACT_COLUMNS)}, forgotten FROM order_baselines WHERE order_id IN :ids",
    lists=("ids",),
)
BASELINES_AFTER = sql(
    f"SELECT {', '.join(FACT_COLUMNS)}, forgotten FROM order_baselines"
    " WHERE order_id > :after ORDER BY order_id LIMIT :limit"
)
PUT_BASELINE = sql(
    f"INSERT INTO order_baselines ({', '.join(FACT_COLUMNS)}, forgotten)"
    f" VALUES ({', '.join(':' + c for c in FACT_COLUMNS)}, FALSE)"
    " ON CONFLICT (order_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
)
PRUNE_EVENTS_OF = sql(
    "DELETE FROM order_events WHERE order_id IN :ids AND seq <= :upto", lists=("ids",)
)
# what names a person or a parcel goes; the figures' facts stay
FORGET_BASELINES = sql(
    "UPDATE order_baselines SET forgotten = TRUE, user_id = NULL, wave_id = NULL,"
    " reason = NULL, sales_order_number = NULL, carrier = NULL, tracking_number = NULL"
    " WHERE order_id IN :ids",
    lists=("ids",),
)
FORGET_VIEW = sql("DELETE FROM order_view WHERE order_id IN :ids", lists=("ids",))

_VIEW_COLUMNS = ("generation", *FACT_COLUMNS, "status")
# A live event's one read: the live generations, and its order's row in the live order view
# (all NULL when the order is new to it), the generations held (on PostgreSQL) until the
# event commits: a rebuild's switch waits for it, and it for the switch.
_LIVE = (
    "SELECT o.generation AS orders_generation, a.generation AS analytics_generation, "
    + ", ".join(f"v.{c}" for c in (*FACT_COLUMNS, "status"))
    + " FROM projections o JOIN projections a ON a.name = 'analytics'"
    " LEFT JOIN order_view v ON v.generation = o.generation AND v.order_id = :order_id"
    " WHERE o.name = 'orders'"
)
LIVE_VIEW = Statement(text(_LIVE), {"postgresql": text(_LIVE + " FOR SHARE OF o, a")})
VIEW = sql(
    f"SELECT {', '.join(FACT_COLUMNS)}, status FROM order_view"
    " WHERE generation = :generation AND order_id = :order_id"
)
PUT_VIEW = sql(
    f"INSERT INTO order_view ({', '.join(_VIEW_COLUMNS)})"
    f" VALUES ({', '.join(':' + c for c in _VIEW_COLUMNS)})"
    " ON CONFLICT (generation, order_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _VIEW_COLUMNS[2:])
)
VIEW_ROWS = sql(
    f"SELECT {', '.join(FACT_COLUMNS)}, status FROM order_view"
    " WHERE generation = :generation AND order_id > :after ORDER BY order_id LIMIT :limit"
)

_DAILY_KEYS = ("generation", "day", "channel", "account_id")
ADD_DAILY = sql(
    f"INSERT INTO order_daily ({', '.join((*_DAILY_KEYS, *COUNTS))})"
    f" VALUES ({', '.join(':' + c for c in (*_DAILY_KEYS, *COUNTS))})"
    " ON CONFLICT (generation, day, channel, account_id) DO UPDATE SET "
    + ", ".join(f"{c} = order_daily.{c} + excluded.{c}" for c in COUNTS)
)
DAILY_ROWS = sql(
    f"SELECT day, channel, account_id, {', '.join(COUNTS)} FROM order_daily"
    " WHERE generation = :generation ORDER BY day, channel, account_id"
)
PUT_DAILY = sql(
    f"INSERT INTO order_daily ({', '.join((*_DAILY_KEYS, *COUNTS))})"
    f" VALUES ({', '.join(':' + c for c in (*_DAILY_KEYS, *COUNTS))})"
    " ON CONFLICT (generation, day, channel, account_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COUNTS)
)

# Rows of one generation that the other lacks (`EXCEPT`): 0 both ways, they are the same.
_VIEW_SAME = ", ".join((*FACT_COLUMNS, "status"))
VIEW_DIFFERENCES = sql(
    f"SELECT COUNT(*) AS n FROM (SELECT {_VIEW_SAME} FROM order_view WHERE generation = :a"
    f" EXCEPT SELECT {_VIEW_SAME} FROM order_view WHERE generation = :b) AS d"
)
_DAILY_SAME = ", ".join(("day", "channel", "account_id", *COUNTS))
DAILY_DIFFERENCES = sql(
    f"SELECT COUNT(*) AS n FROM (SELECT {_DAILY_SAME} FROM order_daily WHERE generation = :a"
    f" EXCEPT SELECT {_DAILY_SAME} FROM order_daily WHERE generation = :b) AS d"
)
# An old generation goes a slice at a time, so that no transaction holds the writer long.
DROP_VIEW_SLICE = sql(
    "DELETE FROM order_view WHERE generation = :generation AND order_id IN"
    " (SELECT order_id FROM order_view WHERE generation = :generation LIMIT :limit)"
)
DROP_DAILY = sql("DELETE FROM order_daily WHERE generation = :generation")
