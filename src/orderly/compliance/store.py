"""Compliance's tables and statements: copies of accounts and products, the decisions (the
audit record, never deleted), holds, and suspicious order monitoring's settings and history."""

import sqlalchemy as sa

from orderly.storage import sql

metadata = sa.MetaData()

# What compliance keeps of each account (identity's account.created / account.updated).
compliance_accounts = sa.Table(
    "compliance_accounts",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("dea_number", sa.String(16)),
    sa.Column("dea_schedules", sa.JSON(), nullable=False),
    sa.Column("dea_expires_on", sa.String(10)),
    sa.Column("dea_active", sa.Boolean(), nullable=False),
    sa.Column("registered_address", sa.JSON()),
    sa.Column("licence_state", sa.String(8)),
    sa.Column("licence_expires_on", sa.String(10)),
    sa.Column("can_order_schedule_ii", sa.Boolean(), nullable=False),
    sa.Column("csos_certificate", sa.Text()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# What compliance keeps of each product (catalog's product.created / product.updated), and
# what an operator sets of it (`configured`: then catalog's changes leave family and units).
compliance_products = sa.Table(
    "compliance_products",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ndc", sa.String(16)),
    sa.Column("dea_schedule", sa.String(8)),
    sa.Column("family", sa.String(64), nullable=False),
    sa.Column("units_per_package", sa.Integer(), nullable=False),
    sa.Column("serialized", sa.Boolean(), nullable=False),
    sa.Column("configured", sa.Boolean(), nullable=False),
)

decisions = sa.Table(
    "compliance_decisions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("run", sa.Integer(), nullable=False),
    sa.Column("account_id", sa.String(36)),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("rule", sa.String(32)),
    sa.Column("reason", sa.String(64)),
    sa.Column("detail", sa.Text()),
    sa.Column("inputs", sa.JSON(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("voided_at", sa.DateTime(timezone=True)),
    sa.Column("void_reason", sa.String(200)),
    sa.Index("compliance_decisions_order", "order_id", "run"),
)

# One row per checked run: the decision that answers it now (a repeated check re-sends it).
checks = sa.Table(
    "compliance_checks",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("run", sa.Integer(), primary_key=True),
    sa.Column("decision_id", sa.String(36)),
)

# A held order, and the saga command it answers once an analyst decides.
holds = sa.Table(
    "compliance_holds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("run", sa.Integer(), nullable=False),
    sa.Column("account_id", sa.String(36), nullable=False),
    sa.Column("decision_id", sa.String(36), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("som", sa.JSON(), nullable=False),
    sa.Column("command_id", sa.String(64), nullable=False),
    sa.Column("saga_id", sa.String(64), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("traceparent", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("note", sa.Text()),
    sa.Index("compliance_holds_status", "status", "created_at"),
    sa.Index("compliance_holds_order", "order_id"),
)

# family '' is the account's default for every family
som_settings = sa.Table(
    "som_settings",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("family", sa.String(64), primary_key=True),
    sa.Column("size_factor", sa.String(16), nullable=False),
    sa.Column("frequency_factor", sa.String(16), nullable=False),
    sa.Column("first_order", sa.Boolean(), nullable=False),
)

# prior months imported by an operator
som_baseline = sa.Table(
    "som_baseline",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("family", sa.String(64), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("units", sa.BigInteger(), nullable=False),
    sa.Column("orders", sa.Integer(), nullable=False),
)

# orders passed or released, in dosage units per family (a voided run's are removed)
som_orders = sa.Table(
    "som_orders",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("run", sa.Integer(), primary_key=True),
    sa.Column("family", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(36), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("units", sa.BigInteger(), nullable=False),
    sa.Index("som_orders_account", "account_id", "family", "day"),
)

_ACCOUNT_COLUMNS = (
    "account_id, dea_number, dea_schedules, dea_expires_on, dea_active, registered_address,"
    " licence_state, licence_expires_on, can_order_schedule_ii, csos_certificate"
)
_ACCOUNT_VALUES = (
    ":account_id, :dea_number, :dea_schedules, :dea_expires_on, :dea_active,"
    " :registered_address, :licence_state, :licence_expires_on, :can_order_schedule_ii,"
    " :csos_certificate, :at"
)
# account.created: a copy made from a later account.updated is not replaced
INSERT_ACCOUNT = sql(
    f"INSERT INTO compliance_accounts ({_ACCOUNT_COLUMNS}, updated_at) VALUES ({_ACCOUNT_VALUES})"
    " ON CONFLICT (account_id) DO NOTHING"
)
UPSERT_ACCOUNT = sql(
    f"INSERT INTO compliance_accounts ({_ACCOUNT_COLUMNS}, updated_at) VALUES ({_ACCOUNT_VALUES})"
    " ON CONFLICT (account_id) DO UPDATE SET dea_number = :dea_number,"
    " dea_schedules = :dea_schedules, dea_expires_on = :dea_expires_on,"
    " dea_active = :dea_active, registered_address = :registered_address,"
    " licence_state = :licence_state, licence_expires_on = :licence_expires_on,"
    " can_order_schedule_ii = :can_order_schedule_ii, csos_certificate = :csos_certificate,"
    " updated_at = :at"
)
ACCOUNT = sql(f"SELECT {_ACCOUNT_COLUMNS} FROM compliance_accounts WHERE account_id = :account_id")

_PRODUCT_COLUMNS = "product_id, name, ndc, dea_schedule, family, units_per_package, serialized"
INSERT_PRODUCT = sql(
    f"INSERT INTO compliance_products ({_PRODUCT_COLUMNS}, configured) VALUES (:product_id,"
    " :name, :ndc, :dea_schedule, :family, :units_per_package, TRUE, FALSE)"
    " ON CONFLICT (product_id) DO UPDATE SET name = :name, ndc = :ndc,"
    " dea_schedule = :dea_schedule"
)
PRODUCT = sql(
    f"SELECT {_PRODUCT_COLUMNS}, configured FROM compliance_products WHERE product_id = :product_id"
)
UPDATE_PRODUCT = sql(
    "UPDATE compliance_products SET name = :name, dea_schedule = :dea_schedule,"
    " family = :family, units_per_package = :units_per_package WHERE product_id = :product_id"
)
CONFIGURE_PRODUCT = sql(
    f"INSERT INTO compliance_products ({_PRODUCT_COLUMNS}, configured) VALUES (:product_id,"
    " :name, NULL, NULL, :family, :units_per_package, :serialized, TRUE)"
    " ON CONFLICT (product_id) DO UPDATE SET family = :family,"
    " units_per_package = :units_per_package, serialized = :serialized, configured = TRUE"
)

_DECISION_COLUMNS = (
    "id, order_id, run, account_id, decision, rule, reason, detail, inputs, actor, at,"
    " voided_at, void_reason"
)
INSERT_DECISION = sql(
    "INSERT INTO compliance_decisions (id, order_id, run, account_id, decision, rule, reason,"
    " detail, inputs, actor, at) VALUES (:id, :order_id, :run, :account_id, :decision, :rule,"
    " :reason, :detail, :inputs, :actor, :at)"
)
DECISION = sql(f"SELECT {_DECISION_COLUMNS} FROM compliance_decisions WHERE id = :id")
ORDER_DECISIONS = sql(
    f"SELECT {_DECISION_COLUMNS} FROM compliance_decisions WHERE order_id = :order_id"
    " ORDER BY at, id"
)
VOID_DECISIONS = sql(
    "UPDATE compliance_decisions SET voided_at = :at, void_reason = :reason"
    " WHERE order_id = :order_id AND run = :run AND voided_at IS NULL"
)

# 1 if this run was not checked before: its check is this one's to make
CLAIM_CHECK = sql(
    "INSERT INTO compliance_checks (order_id, run, decision_id) VALUES (:order_id, :run, NULL)"
    " ON CONFLICT (order_id, run) DO NOTHING"
)
CHECK = sql("SELECT decision_id FROM compliance_checks WHERE order_id = :order_id AND run = :run")
ANSWER_CHECK = sql(
    "UPDATE compliance_checks SET decision_id = :decision_id"
    " WHERE order_id = :order_id AND run = :run"
)

_HOLD_COLUMNS = (
    "id, order_id, run, account_id, decision_id, rule, detail, status, som, command_id,"
    " saga_id, correlation_id, traceparent, created_at, decided_at, decided_by, note"
)
INSERT_HOLD = sql(
    f"INSERT INTO compliance_holds ({_HOLD_COLUMNS}) VALUES (:id, :order_id, :run,"
    " :account_id, :decision_id, :rule, :detail, 'open', :som, :command_id, :saga_id,"
    " :correlation_id, :traceparent, :at, NULL, NULL, NULL)"
)
HOLD = sql(f"SELECT {_HOLD_COLUMNS} FROM compliance_holds WHERE id = :id")
HOLD_OF_DECISION = sql(
    f"SELECT {_HOLD_COLUMNS} FROM compliance_holds WHERE decision_id = :decision_id"
)
HOLDS = sql(f"SELECT {_HOLD_COLUMNS} FROM compliance_holds ORDER BY created_at, id LIMIT 500")
HOLDS_WITH_STATUS = sql(
    f"SELECT {_HOLD_COLUMNS} FROM compliance_holds WHERE status = :status"
    " ORDER BY created_at, id LIMIT 500"
)
# 1 if the hold was open: this decision is the one that closes it
DECIDE_HOLD = sql(
    "UPDATE compliance_holds SET status = :status, decided_at = :at, decided_by = :actor,"
    " note = :note WHERE id = :id AND status = 'open'"
)
VOID_HOLDS = sql(
    "UPDATE compliance_holds SET status = 'voided', decided_at = :at, decided_by = 'system',"
    " note = :reason WHERE order_id = :order_id AND run = :run AND status = 'open'"
)

SET_SOM = sql(
    "INSERT INTO som_settings (account_id, family, size_factor, frequency_factor, first_order)"
    " VALUES (:account_id, :family, :size_factor, :frequency_factor, :first_order)"
    " ON CONFLICT (account_id, family) DO UPDATE SET size_factor = :size_factor,"
    " frequency_factor = :frequency_factor, first_order = :first_order"
)
# the family's own settings first, then the account's default
SOM_SETTINGS = sql(
    "SELECT family, size_factor, frequency_factor, first_order FROM som_settings"
    " WHERE account_id = :account_id AND family IN (:family, '') ORDER BY family DESC LIMIT 1"
)
SET_BASELINE = sql(
    "INSERT INTO som_baseline (account_id, family, month, units, orders)"
    " VALUES (:account_id, :family, :month, :units, :orders)"
    " ON CONFLICT (account_id, family, month) DO UPDATE SET units = :units, orders = :orders"
)
BASELINE = sql(
    "SELECT month, units, orders FROM som_baseline WHERE account_id = :account_id"
    " AND family = :family AND month >= :since"
)
INSERT_SOM_ORDER = sql(
    "INSERT INTO som_orders (order_id, run, family, account_id, day, units)"
    " VALUES (:order_id, :run, :family, :account_id, :day, :units)"
    " ON CONFLICT (order_id, run, family) DO NOTHING"
)
SOM_ORDERS = sql(
    "SELECT day, units FROM som_orders WHERE account_id = :account_id AND family = :family"
    " AND day >= :since"
)
SOM_SEEN = sql(
    "SELECT 1 FROM som_orders WHERE account_id = :account_id AND family = :family"
    " UNION ALL SELECT 1 FROM som_baseline WHERE account_id = :account_id"
    " AND family = :family LIMIT 1"
)
DELETE_SOM_ORDERS = sql("DELETE FROM som_orders WHERE order_id = :order_id AND run = :run")

# Legal holds: while one is in force (not lifted) on an order, or on the account it was
# placed for, retention removes none of its records. An open or reported suspicious order
# hold is one too: an investigation is open.
legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("order_id", sa.String(64)),
    sa.Column("account_id", sa.String(36)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("placed_by", sa.String(64), nullable=False),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lifted_by", sa.String(64)),
    sa.Column("lifted_at", sa.DateTime(timezone=True)),
    sa.Index("legal_holds_order", "order_id"),
    sa.Index("legal_holds_account", "account_id"),
)

_LEGAL_COLUMNS = (
    "id, order_id, account_id, kind, reason, placed_by, placed_at, lifted_by, lifted_at"
)
INSERT_LEGAL_HOLD = sql(
    f"INSERT INTO legal_holds ({_LEGAL_COLUMNS}) VALUES (:id, :order_id, :account_id, :kind,"
    " :reason, :placed_by, :placed_at, NULL, NULL)"
)
LEGAL_HOLD = sql(f"SELECT {_LEGAL_COLUMNS} FROM legal_holds WHERE id = :id")
LEGAL_HOLDS = sql(
    f"SELECT {_LEGAL_COLUMNS} FROM legal_holds"
    " WHERE (:in_force = 0 OR lifted_at IS NULL) ORDER BY placed_at, id LIMIT 1000"
)
# 1 if it was in force: this is the lift
LIFT_LEGAL_HOLD = sql(
    "UPDATE legal_holds SET lifted_by = :by, lifted_at = :at WHERE id = :id AND lifted_at IS NULL"
)
# what retention must keep: orders and accounts under a hold in force, and orders with an
# open or reported suspicious order hold
HELD_ORDERS = sql(
    "SELECT order_id FROM legal_holds WHERE lifted_at IS NULL AND order_id IS NOT NULL"
    " UNION SELECT order_id FROM compliance_holds WHERE status IN ('open', 'reported')"
)
HELD_ACCOUNTS = sql(
    "SELECT DISTINCT account_id FROM legal_holds WHERE lifted_at IS NULL AND account_id IS NOT NULL"
)
