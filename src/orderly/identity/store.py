"""Identity tables and queries."""

import sqlalchemy as sa

from orderly.storage import sql

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("roles", sa.JSON(), nullable=False),
    sa.Column("organisation_id", sa.String(36)),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_reason", sa.String(64)),
    sa.Index("sessions_user", "user_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("private_pem", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_at", sa.DateTime(timezone=True)),
)

INSERT_USER = sql(
    "INSERT INTO users (id, email, password_hash, first_name, last_name, roles, created_at,"
    " updated_at) VALUES (:id, :email, :password_hash, :first_name, :last_name, :roles, :at, :at)"
    " ON CONFLICT (email) DO NOTHING"
)
USER_COLUMNS = (
    "SELECT id, email, password_hash, first_name, last_name, roles, organisation_id,"
    " disabled_at, created_at FROM users"
)
USER_BY_EMAIL = sql(f"{USER_COLUMNS} WHERE email = :email")
USER_BY_ID = sql(f"{USER_COLUMNS} WHERE id = :id")
INSERT_SESSION = sql("INSERT INTO sessions (id, user_id, created_at) VALUES (:id, :user_id, :at)")
REVOKE_SESSION = sql(
    "UPDATE sessions SET revoked_at = :at, revoked_reason = :reason"
    " WHERE id = :id AND revoked_at IS NULL"
)
SESSION_STATE = sql(
    "SELECT s.revoked_at, u.disabled_at FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.id = :id"
)
INSERT_REFRESH = sql(
    "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)"
    " VALUES (:token_hash, :session_id, :at, :expires_at)"
)
REFRESH_BY_HASH = sql(
    "SELECT r.token_hash, r.session_id, r.expires_at, r.used_at, s.revoked_at, s.user_id"
    " FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = :token_hash"
)
USE_REFRESH = sql(
    "UPDATE refresh_tokens SET used_at = :at WHERE token_hash = :token_hash AND used_at IS NULL"
)
ACTIVE_KEYS = sql(
    "SELECT kid, private_pem, created_at FROM signing_keys WHERE retired_at IS NULL"
    " ORDER BY created_at DESC, kid"
)
INSERT_KEY = sql(
    "INSERT INTO signing_keys (kid, private_pem, created_at) VALUES (:kid, :private_pem, :at)"
)

auth_events = sa.Table(
    "auth_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("auth_events_email_at", "email", "at"),
    sa.Index("auth_events_client_at", "client", "at"),
    sa.Index("auth_events_at", "at"),
)

# The addresses from which each e-mail completed a login: the throttle spares them.
known_clients = sa.Table(
    "known_clients",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("client", sa.String(64), primary_key=True),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
)

DISABLE_USER = sql(
    "UPDATE users SET disabled_at = :at, updated_at = :at WHERE id = :id AND disabled_at IS NULL"
)
REVOKE_USER_SESSIONS = sql(
    "UPDATE sessions SET revoked_at = :at, revoked_reason = :reason"
    " WHERE user_id = :user_id AND revoked_at IS NULL"
)
MAKE_OPERATOR = sql(
    "UPDATE users SET roles = :roles, password_hash = :password_hash, disabled_at = NULL,"
    " updated_at = :at WHERE id = :id"
)
INSERT_AUTH_EVENT = sql(
    "INSERT INTO auth_events (id, kind, outcome, email, client, at)"
    " VALUES (:id, :kind, :outcome, :email, :client, :at)"
)
_FAILURES = (
    "SELECT {scope} AS scope, COUNT(*) AS n, MIN(at) AS oldest FROM auth_events"
    " WHERE kind = :kind AND outcome = 'failure' AND at > :since AND {where}"
)
# Failures in the window, per scope: each arm is served by one of the indexes above.
RECENT_FAILURES = sql(
    " UNION ALL ".join(
        _FAILURES.format(scope=f"'{scope}'", where=where)
        for scope, where in (
            ("pair", "email = :email AND client = :client"),
            ("email", "email = :email"),
            ("client", "client = :client"),
        )
    )
)
RECENT_REGISTRATIONS = sql(
    "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM auth_events"
    " WHERE kind = 'register' AND client = :client AND at > :since"
)
# PostgreSQL: one address's registrations are counted and recorded one at a time.
LOCK_REGISTRATIONS = sql("SELECT pg_advisory_xact_lock(hashtext(:key)) AS locked")
SET_AUTH_OUTCOME = sql("UPDATE auth_events SET outcome = :outcome WHERE id = :id")
PRUNE_AUTH_EVENTS = sql(
    "DELETE FROM auth_events WHERE id IN"
    " (SELECT id FROM auth_events WHERE at < :before LIMIT :limit)"
)
KNOWN_CLIENT = sql(
    "SELECT last_at FROM known_clients WHERE email = :email AND client = :client"
    " AND last_at > :since"
)
REMEMBER_CLIENT = sql(
    "INSERT INTO known_clients (email, client, last_at) VALUES (:email, :client, :at)"
    " ON CONFLICT (email, client) DO UPDATE SET last_at = :at"
)
PRUNE_KNOWN_CLIENTS = sql("DELETE FROM known_clients WHERE last_at < :before")

addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("address", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("addresses_user", "user_id", "created_at"),
)

INSERT_ADDRESS = sql(
    "INSERT INTO addresses (id, user_id, label, address, created_at)"
    " VALUES (:id, :user_id, :label, :address, :at)"
)
USER_ADDRESSES = sql(
    "SELECT id, label, address, created_at FROM addresses WHERE user_id = :user_id"
    " ORDER BY created_at, id"
)
USER_ADDRESS = sql(
    "SELECT id, label, address, created_at FROM addresses WHERE user_id = :user_id AND id = :id"
)
DELETE_ADDRESS = sql("DELETE FROM addresses WHERE user_id = :user_id AND id = :id")
COUNT_ADDRESSES = sql("SELECT COUNT(*) AS n FROM addresses WHERE user_id = :user_id")

mfa_factors = sa.Table(
    "mfa_factors",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("enabled_at", sa.DateTime(timezone=True)),
)

mfa_recovery_codes = sa.Table(
    "mfa_recovery_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

mfa_spent_codes = sa.Table(
    "mfa_spent_codes",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("timestep", sa.BigInteger(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

mfa_challenges = sa.Table(
    "mfa_challenges",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

UPSERT_FACTOR = sql(
    "INSERT INTO mfa_factors (user_id, secret, created_at) VALUES (:user_id, :secret, :at)"
    " ON CONFLICT (user_id) DO UPDATE SET secret = :secret, created_at = :at, enabled_at = NULL"
)
FACTOR = sql("SELECT secret, enabled_at FROM mfa_factors WHERE user_id = :user_id")
ENABLE_FACTOR = sql("UPDATE mfa_factors SET enabled_at = :at WHERE user_id = :user_id")
DELETE_RECOVERY = sql("DELETE FROM mfa_recovery_codes WHERE user_id = :user_id")
INSERT_RECOVERY = sql(
    "INSERT INTO mfa_recovery_codes (code_hash, user_id) VALUES (:code_hash, :user_id)"
)
USE_RECOVERY = sql(
    "UPDATE mfa_recovery_codes SET used_at = :at"
    " WHERE code_hash = :code_hash AND user_id = :user_id AND used_at IS NULL"
)
SPEND_CODE = sql(
    "INSERT INTO mfa_spent_codes (user_id, timestep, at) VALUES (:user_id, :timestep, :at)"
    " ON CONFLICT DO NOTHING"
)
INSERT_CHALLENGE = sql(
    "INSERT INTO mfa_challenges (token_hash, user_id, expires_at)"
    " VALUES (:token_hash, :user_id, :expires_at)"
)
CHALLENGE = sql(
    "SELECT user_id, expires_at, used_at FROM mfa_challenges WHERE token_hash = :token_hash"
)
CHALLENGE_EMAIL = sql(
    "SELECT u.email FROM mfa_challenges c JOIN users u ON u.id = c.user_id"
    " WHERE c.token_hash = :token_hash"
)
USE_CHALLENGE = sql(
    "UPDATE mfa_challenges SET used_at = :at WHERE token_hash = :token_hash AND used_at IS NULL"
)

organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("segment", sa.String(32), nullable=False),
    sa.Column("dea_number", sa.String(9), nullable=False),
    sa.Column("dea_schedules", sa.JSON(), nullable=False),
    sa.Column("dea_expires_on", sa.String(10), nullable=False),
    sa.Column("state_licence", sa.String(64), nullable=False),
    sa.Column("id_340b", sa.String(32)),
    sa.Column("can_order_schedule_ii", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # an operator may suspend a registration before it expires
    sa.Column("dea_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    # the registered location ({line1, city, state, postal_code, country, ...}); a controlled
    # order ships there only
    sa.Column("registered_address", sa.JSON()),
    sa.Column("licence_state", sa.String(2)),
    sa.Column("licence_expires_on", sa.String(10)),
    # the account's CSOS signing certificate (PEM, X.509, EC P-256)
    sa.Column("csos_certificate", sa.Text()),
    # orders above this need an approver (none: no approval)
    sa.Column("approval_threshold_cents", sa.BigInteger()),
)

INSERT_ORGANISATION = sql(
    "INSERT INTO organisations (id, name, segment, dea_number, dea_schedules, dea_expires_on,"
    " state_licence, id_340b, can_order_schedule_ii, created_at, dea_active,"
    " registered_address, licence_state, licence_expires_on)"
    " VALUES (:id, :name, :segment, :dea_number, :dea_schedules, :dea_expires_on,"
    " :state_licence, :id_340b, :can_order_schedule_ii, :at, :dea_active,"
    " :registered_address, :licence_state, :licence_expires_on) ON CONFLICT (id) DO NOTHING"
)
ORGANISATION = sql(
    "SELECT id, name, segment, dea_number, dea_schedules, dea_expires_on, state_licence,"
    " id_340b, can_order_schedule_ii, dea_active, registered_address, licence_state,"
    " licence_expires_on, csos_certificate, approval_threshold_cents"
    " FROM organisations WHERE id = :id"
)
SET_REGISTRATION = sql(
    "UPDATE organisations SET dea_schedules = :dea_schedules, dea_expires_on = :dea_expires_on,"
    " dea_active = :dea_active, registered_address = :registered_address,"
    " licence_state = :licence_state, licence_expires_on = :licence_expires_on,"
    " can_order_schedule_ii = :can_order_schedule_ii WHERE id = :id"
)
SET_CSOS_CERTIFICATE = sql(
    "UPDATE organisations SET csos_certificate = :csos_certificate WHERE id = :id"
)
SET_APPROVAL_THRESHOLD = sql(
    "UPDATE organisations SET approval_threshold_cents = :approval_threshold_cents WHERE id = :id"
)
JOIN_ORGANISATION = sql(
    "UPDATE users SET organisation_id = :organisation_id, updated_at = :at WHERE id = :id"
)
ORGANISATION_USERS = sql(
    f"{USER_COLUMNS} WHERE organisation_id = :organisation_id ORDER BY created_at, id"
)
SET_ROLES = sql("UPDATE users SET roles = :roles, updated_at = :at WHERE id = :id")
# Serialises changes to one account (PostgreSQL holds the row's lock to the end of the
# transaction); 0 if there is no such account.
LOCK_ORGANISATION = sql("UPDATE organisations SET dea_active = dea_active WHERE id = :id")
