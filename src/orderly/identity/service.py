"""Identity commands: register, log in, refresh, log out; and the user read model."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from orderly.identity import domain, mfa, store
from orderly.identity.messages import (
    SOURCE,
    AccountCreated,
    SessionRevoked,
    UserCreated,
    UserDisabled,
)
from orderly.identity.passwords import hash_password, verify_password
from orderly.identity.tokens import (
    ENROLMENT_SCOPE,
    ENROLMENT_TTL,
    TokenService,
    new_refresh_token,
    refresh_hash,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, OrderlyError
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx

log = structlog.get_logger(__name__)


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail already registered"


class InvalidCredentials(OrderlyError):
    status = 401
    code = "invalid_credentials"
    title = "Wrong e-mail or password"


class InvalidRefreshToken(OrderlyError):
    status = 401
    code = "invalid_refresh_token"
    title = "Refresh token not valid"


class RefreshTokenReused(InvalidRefreshToken):
    """The session `session_id` was revoked because an old refresh token came back."""

    def __init__(self, detail: str, session_id: str) -> None:
        super().__init__(detail)
        self.session_id = session_id


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    first_name: str
    last_name: str
    roles: tuple[str, ...] = (domain.Role.CUSTOMER,)
    organisation_id: str | None = None


class TooManyRegistrations(OrderlyError):
    status = 429
    code = "too_many_registrations"
    title = "Too many registrations from this address"


@dataclass(frozen=True)
class RegistrationLimit:
    """At most `count` registrations from one address (`domain.client_key`) per `window`."""

    count: int
    window: timedelta


async def register(
    db: Database, new: Registration, client: str, limit: RegistrationLimit
) -> dict[str, Any]:
    """Seed 002 flow 1, answered alike whether or not the e-mail already has an account.

    Both cases hash the password and write in one transaction (the user and `user.created`,
    or nothing), and answer the same body: the new user then logs in. Handing out a token
    here would tell whoever registers a taken e-mail that it is taken."""
    email = domain.normalise_email(new.email)
    domain.check_password(new.password, email=email)
    attempt_id = await _admit_registration(db, email, domain.client_key(client), limit)
    password_hash = await hash_password(new.password)
    user_id = new_id()

    async def work(tx: Tx) -> None:
        created = await _insert_user(tx, user_id, email, password_hash, new)
        outcome = {"id": attempt_id, "outcome": "created" if created else "taken"}
        await tx.execute(store.SET_AUTH_OUTCOME, outcome)

    await db.transaction(work)
    return {"email": email, "status": "accepted"}


async def _admit_registration(
    db: Database, email: str, client: str, limit: RegistrationLimit
) -> str:
    """Record the attempt, then count: of registrations sent together from one address, at
    most `limit.count` get through, whichever process serves them. The id of the attempt."""
    attempt_id = new_id()
    await _audit(db, "register", "pending", email, client, event_id=attempt_id)
    now = utcnow()
    params = {"client": client, "since": now - limit.window}
    row = await db.read(lambda tx: tx.fetch_one(store.RECENT_REGISTRATIONS, params))
    assert row is not None
    if int(row["n"]) <= limit.count:
        return attempt_id
    await db.transaction(lambda tx: tx.execute(store.DELETE_AUTH_EVENT, {"id": attempt_id}))
    wait = _seconds_until(row["oldest"], limit.window, now)
    raise TooManyRegistrations(
        "too many registrations from this address; try again later", retry_after=wait
    ).with_headers({"Retry-After": str(wait)})


async def register_user(db: Database, new: Registration) -> str:
    """Store a new user and publish `user.created`; its id. For operators' and admins' tools:
    a taken e-mail is refused (`EmailTaken`)."""
    email = domain.normalise_email(new.email)
    domain.check_password(new.password, email=email)
    password_hash = await hash_password(new.password)
    user_id = new_id()

    async def work(tx: Tx) -> None:
        if not await _insert_user(tx, user_id, email, password_hash, new):
            raise EmailTaken("this e-mail is already registered")

    await db.transaction(work)
    return user_id


async def _insert_user(
    tx: Tx, user_id: str, email: str, password_hash: str, new: Registration
) -> bool:
    """False, and nothing written, if the e-mail is taken."""
    now = utcnow()
    inserted = await tx.execute(
        store.INSERT_USER,
        {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": new.first_name,
            "last_name": new.last_name,
            "roles": list(new.roles),
            "at": now,
        },
    )
    if not inserted:
        return False
    if new.organisation_id is not None:
        join = {"id": user_id, "organisation_id": new.organisation_id, "at": now}
        await tx.execute(store.JOIN_ORGANISATION, join)
    await _user_created(tx, user_id, email, new.first_name, new.last_name)
    return True


async def _user_created(tx: Tx, user_id: str, email: str, first: str, last: str) -> None:
    created = UserCreated(user_id=user_id, email=email, first_name=first, last_name=last)
    await emit(tx, new_message(created, source=SOURCE, aggregate_id=user_id))


class TooManyAttempts(OrderlyError):
    status = 429
    code = "too_many_attempts"
    title = "Too many failed attempts"


# Brute force (docs/architecture.md, "Brute force"). Failures within the window, counted per
# e-mail and address pair, per e-mail, and per address (`domain.client_key`); the last two
# spare an address the e-mail completed a login from within KNOWN_CLIENT_TTL, so an attacker
# cannot lock a user out of the places it signs in from. Offices share an address: an
# address may fail more often than one e-mail may be failed on.
FAILURE_WINDOW = timedelta(minutes=5)
LIMITS = {"pair": 5, "email": 20, "client": 30}
KNOWN_CLIENT_TTL = timedelta(days=30)
# The audit is kept this long; the throttle reads at most a day of it.
AUDIT_RETENTION = timedelta(days=30)


async def login(
    db: Database, tokens: TokenService, email: str, password: str, client: str = ""
) -> dict[str, Any]:
    """The same refusal, in about the same time, whether or not the e-mail exists."""
    email = domain.normalise_email(email)
    client = domain.client_key(client)
    await _throttle(db, "login", email, client)
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_EMAIL, {"email": email}))
    matches = await verify_password(user["password_hash"] if user else None, password)
    accepted = user is not None and matches and user["disabled_at"] is None
    await _audit(db, "login", "success" if accepted else "failure", email, client)
    await _throttle(db, "login", email, client, own_failure=not accepted)
    if user is None or not accepted:
        raise InvalidCredentials("the e-mail or the password is wrong")
    if await mfa.enabled(db, user["id"]):
        return {"mfaRequired": True, "mfaToken": await mfa.open_challenge(db, user["id"])}
    await _remember_client(db, email, client)
    if user["organisation_id"] is not None:
        return await _open_enrolment_session(db, tokens, user)
    return await _open_session(db, tokens, user)


async def _open_enrolment_session(db: Database, tokens: TokenService, user: Row) -> dict[str, Any]:
    """A B2B user without a second factor: a short session good only for setting one up."""
    session_id = new_id()

    async def work(tx: Tx) -> None:
        await tx.execute(
            store.INSERT_SESSION, {"id": session_id, "user_id": user["id"], "at": utcnow()}
        )

    await db.transaction(work)
    token = await tokens.issue(user["id"], session_id, [], ttl=ENROLMENT_TTL, scope=ENROLMENT_SCOPE)
    return {"mfaEnrolmentRequired": True, "token": token, "expiresIn": ENROLMENT_TTL}


async def activate_mfa(
    db: Database, tokens: TokenService, caller: Principal, code: str
) -> dict[str, Any]:
    """Put the enrolled factor in force. Finishing a B2B user's enrolment trades the
    enrolment-only session for a full one: the password and a fresh code were both shown."""
    activated = await mfa.activate(db, caller, code)
    if not caller.enrolment_only:
        return activated
    await db.transaction(
        lambda tx: _revoke_session(tx, caller.session_id, caller.user_id, "enrolled")
    )
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": caller.user_id}))
    if user is None or user["disabled_at"] is not None:
        raise InvalidCredentials("the account cannot log in")
    return {**activated, **await _open_session(db, tokens, user)}


async def complete_mfa_login(
    db: Database, tokens: TokenService, mfa_token: str, code: str, client: str = ""
) -> dict[str, Any]:
    """Second step of a login with MFA: a TOTP code (or a recovery code) for the challenge.

    Guesses count per user, across its challenges: a fresh login must not buy fresh guesses."""
    client = domain.client_key(client)
    subject = await mfa.challenge_email(db, mfa_token) or f"mfa:{mfa.digest_prefix(mfa_token)}"
    await _throttle(db, "mfa", subject, client)
    user_id = await db.transaction(lambda tx: mfa.answer_challenge(tx, mfa_token, code))
    await _audit(db, "mfa", "failure" if user_id is None else "success", subject, client)
    await _throttle(db, "mfa", subject, client, own_failure=user_id is None)
    if user_id is None:
        raise mfa.InvalidMfaCode("the code is wrong, expired or already used")
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    if user is None or user["disabled_at"] is not None:
        raise InvalidCredentials("the account cannot log in")
    await _remember_client(db, user["email"], client)
    return await _open_session(db, tokens, user)


async def _throttle(
    db: Database, kind: str, email: str, client: str, *, own_failure: bool = False
) -> None:
    """Refuse (429) an attempt beyond the limits, before its secret is checked.

    Called again once the attempt's outcome is recorded (`own_failure` says whether that
    record is a failure): guesses sent together all pass the first call, and only those
    within the limits get their answer; the rest get 429 too, right or wrong, so a burst
    learns no more than the limits allow."""
    now = utcnow()
    params = {"kind": kind, "email": email, "client": client, "since": now - FAILURE_WINDOW}
    rows = await db.read(lambda tx: tx.fetch_all(store.RECENT_FAILURES, params))
    tripped = [row for row in rows if int(row["n"]) - int(own_failure) >= LIMITS[str(row["scope"])]]
    if not tripped:
        return
    if all(row["scope"] != "pair" for row in tripped) and await _known(db, email, client):
        return
    wait = max(_seconds_until(row["oldest"], FAILURE_WINDOW, now) for row in tripped)
    raise TooManyAttempts(
        "too many failed attempts; try again later", retry_after=wait
    ).with_headers({"Retry-After": str(wait)})


async def _known(db: Database, email: str, client: str) -> bool:
    params = {"email": email, "client": client, "since": utcnow() - KNOWN_CLIENT_TTL}
    return await db.read(lambda tx: tx.fetch_one(store.KNOWN_CLIENT, params)) is not None


async def _remember_client(db: Database, email: str, client: str) -> None:
    """`email` completed a login from `client`: from now on the wider limits spare it there."""
    params = {"email": email, "client": client, "at": utcnow()}
    await db.transaction(lambda tx: tx.execute(store.REMEMBER_CLIENT, params))


def _seconds_until(oldest: datetime | str, window: timedelta, now: datetime) -> int:
    """Whole seconds (at least 1) until the oldest counted attempt leaves the window."""
    if isinstance(oldest, str):  # SQLite does not type aggregates
        oldest = datetime.fromisoformat(oldest)
    return max(1, int((oldest + window - now).total_seconds()) + 1)


async def _audit(
    db: Database, kind: str, outcome: str, email: str, client: str, *, event_id: str = ""
) -> None:
    event = {
        "id": event_id or new_id(),
        "kind": kind,
        "outcome": outcome,
        "email": email,
        "client": client or "-",
        "at": utcnow(),
    }

    async def work(tx: Tx) -> None:
        await tx.execute(store.INSERT_AUTH_EVENT, event)

    await db.transaction(work)


async def prune_audit(db: Database, *, batch: int = 1000) -> int:
    """Forget auth events older than AUDIT_RETENTION and addresses unused for
    KNOWN_CLIENT_TTL; the number of events deleted."""
    now = utcnow()
    params = {"before": now - AUDIT_RETENTION, "limit": batch}
    deleted = 0
    while True:
        count = await db.transaction(lambda tx: tx.execute(store.PRUNE_AUTH_EVENTS, params))
        deleted += count
        if count < batch:
            break
    known = {"before": now - KNOWN_CLIENT_TTL}
    await db.transaction(lambda tx: tx.execute(store.PRUNE_KNOWN_CLIENTS, known))
    return deleted


async def audit_keeper(db: Database, interval: float) -> None:
    """Every hour, prune the audit (`prune_audit`)."""
    while True:
        try:
            await prune_audit(db)
        except Exception as error:  # upkeep only: the next round tries again
            log.warning("pruning the auth audit failed", error=type(error).__name__)
        await asyncio.sleep(3600)


async def _open_session(db: Database, tokens: TokenService, user: Row) -> dict[str, Any]:
    session_id = new_id()
    refresh, refresh_digest = new_refresh_token()

    async def work(tx: Tx) -> None:
        now = utcnow()
        await tx.execute(store.INSERT_SESSION, {"id": session_id, "user_id": user["id"], "at": now})
        await _store_refresh(tx, tokens, session_id, refresh_digest)

    await db.transaction(work)
    return await _token_answer(db, tokens, user, session_id, refresh)


async def _store_refresh(tx: Tx, tokens: TokenService, session_id: str, digest: str) -> None:
    now = utcnow()
    await tx.execute(
        store.INSERT_REFRESH,
        {
            "token_hash": digest,
            "session_id": session_id,
            "at": now,
            "expires_at": now + timedelta(seconds=tokens.settings.refresh_ttl),
        },
    )


async def _token_answer(
    db: Database, tokens: TokenService, user: Row, session_id: str, refresh: str
) -> dict[str, Any]:
    claims = await account_claims(db, user["organisation_id"])
    return {
        "token": await tokens.issue(user["id"], session_id, list(user["roles"]), **claims),
        "refreshToken": refresh,
        "expiresIn": tokens.settings.access_ttl,
    }


async def refresh(db: Database, tokens: TokenService, refresh_token: str) -> dict[str, Any]:
    """Rotate: each refresh token works once; presenting a used one revokes its whole family."""
    digest = refresh_hash(refresh_token)
    replacement, replacement_digest = new_refresh_token()

    async def work(tx: Tx) -> Row | tuple[str, str] | str:
        row = await tx.fetch_one(store.REFRESH_BY_HASH, {"token_hash": digest})
        now = utcnow()
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
            return "invalid"
        if not await tx.execute(store.USE_REFRESH, {"token_hash": digest, "at": now}):
            await _revoke_session(tx, row["session_id"], row["user_id"], "refresh_reuse")
            return ("reused", row["session_id"])
        user = await tx.fetch_one(store.USER_BY_ID, {"id": row["user_id"]})
        if user is None or user["disabled_at"] is not None:
            return "invalid"
        await _store_refresh(tx, tokens, row["session_id"], replacement_digest)
        return {**user, "session_id": row["session_id"]}

    outcome = await db.transaction(work)
    if isinstance(outcome, tuple):
        raise RefreshTokenReused(
            "this refresh token was already used; the session is revoked", outcome[1]
        )
    if isinstance(outcome, str):
        raise InvalidRefreshToken("the refresh token is unknown, expired or revoked")
    return await _token_answer(db, tokens, outcome, outcome["session_id"], replacement)


async def logout(db: Database, principal: Principal) -> None:
    await db.transaction(
        lambda tx: _revoke_session(tx, principal.session_id, principal.user_id, "logout")
    )


async def _revoke_session(tx: Tx, session_id: str, user_id: str, reason: str) -> None:
    """End a session and tell every process that checks tokens (`session.revoked`)."""
    params = {"id": session_id, "at": utcnow(), "reason": reason}
    if await tx.execute(store.REVOKE_SESSION, params):
        revoked = SessionRevoked(session_id=session_id, user_id=user_id, reason=reason)
        await emit(tx, new_message(revoked, source=SOURCE, aggregate_id=user_id))


async def create_operator(db: Database, email: str, password: str) -> bool:
    """Make `email` an operator with `password`; True if the user was new. Safe to repeat."""
    email = domain.normalise_email(email)
    domain.check_password(password, email=email)
    password_hash = await hash_password(password)
    roles = [domain.Role.OPERATOR.value]

    async def work(tx: Tx) -> bool:
        now = utcnow()
        user_id = new_id()
        params = {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": "Operator",
            "last_name": "",
            "roles": roles,
            "at": now,
        }
        if await tx.execute(store.INSERT_USER, params):
            await _user_created(tx, user_id, email, "Operator", "")
            return True
        row = await tx.fetch_one(store.USER_BY_EMAIL, {"email": email})
        assert row is not None
        await tx.execute(
            store.MAKE_OPERATOR,
            {"id": row["id"], "roles": roles, "password_hash": password_hash, "at": now},
        )
        return False

    return await db.transaction(work)


async def disable_user(db: Database, principal: Principal, user_id: str) -> dict[str, Any]:
    """Operators only: the user can no longer log in, and every session of theirs ends now."""
    if not principal.is_operator:
        raise UserNotFound(f"user {user_id} does not exist")

    async def work(tx: Tx) -> None:
        now = utcnow()
        if await tx.fetch_one(store.USER_BY_ID, {"id": user_id}) is None:
            raise UserNotFound(f"user {user_id} does not exist")
        if await tx.execute(store.DISABLE_USER, {"id": user_id, "at": now}):
            disabled = UserDisabled(user_id=user_id)
            await emit(tx, new_message(disabled, source=SOURCE, aggregate_id=user_id))
        await tx.execute(
            store.REVOKE_USER_SESSIONS, {"user_id": user_id, "at": now, "reason": "disabled"}
        )

    await db.transaction(work)
    return await get_user(db, principal, user_id)


async def session_is_live(db: Database, session_id: str) -> bool:
    row = await db.read(lambda tx: tx.fetch_one(store.SESSION_STATE, {"id": session_id}))
    return row is not None and row["revoked_at"] is None and row["disabled_at"] is None


async def get_user(db: Database, principal: Principal, user_id: str) -> dict[str, Any]:
    """A user sees itself; an operator sees anyone; anyone else is told there is no such user."""
    if principal.user_id != user_id and not principal.is_operator:
        raise UserNotFound(f"user {user_id} does not exist")
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    if row is None:
        raise UserNotFound(f"user {user_id} does not exist")
    return _user_view(row)


def _user_view(row: Row) -> dict[str, Any]:
    return {
        "userId": row["id"],
        "email": row["email"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "roles": row["roles"],
        "organisationId": row["organisation_id"],
        "disabled": row["disabled_at"] is not None,
        "createdAt": row["created_at"],
    }


class AddressNotFound(NotFound):
    code = "address_not_found"
    title = "Address not found"


class TooManyAddresses(Conflict):
    code = "too_many_addresses"
    title = "Address book full"


MAX_ADDRESSES = 50


def _address_view(row: Row) -> dict[str, Any]:
    return {"addressId": row["id"], "label": row["label"], **row["address"]}


def _own_user(principal: Principal, user_id: str) -> None:
    if principal.user_id != user_id and not principal.is_operator:
        raise UserNotFound(f"user {user_id} does not exist")


async def save_address(
    db: Database, principal: Principal, user_id: str, label: str, address: dict[str, Any]
) -> dict[str, Any]:
    _own_user(principal, user_id)
    address_id = new_id()

    async def work(tx: Tx) -> Row:
        if await tx.fetch_one(store.USER_BY_ID, {"id": user_id}) is None:
            raise UserNotFound(f"user {user_id} does not exist")
        count = await tx.fetch_one(store.COUNT_ADDRESSES, {"user_id": user_id})
        if count is not None and int(count["n"]) >= MAX_ADDRESSES:
            raise TooManyAddresses(f"a user keeps at most {MAX_ADDRESSES} addresses")
        params = {"id": address_id, "user_id": user_id, "label": label, "address": address}
        await tx.execute(store.INSERT_ADDRESS, {**params, "at": utcnow()})
        row = await tx.fetch_one(store.USER_ADDRESS, {"user_id": user_id, "id": address_id})
        assert row is not None
        return row

    return _address_view(await db.transaction(work))


async def list_addresses(db: Database, principal: Principal, user_id: str) -> list[dict[str, Any]]:
    _own_user(principal, user_id)
    rows = await db.read(lambda tx: tx.fetch_all(store.USER_ADDRESSES, {"user_id": user_id}))
    return [_address_view(row) for row in rows]


async def get_address(
    db: Database, principal: Principal, user_id: str, address_id: str
) -> dict[str, Any]:
    _own_user(principal, user_id)
    params = {"user_id": user_id, "id": address_id}
    row = await db.read(lambda tx: tx.fetch_one(store.USER_ADDRESS, params))
    if row is None:
        raise AddressNotFound(f"address {address_id} does not exist")
    return _address_view(row)


async def delete_address(db: Database, principal: Principal, user_id: str, address_id: str) -> None:
    _own_user(principal, user_id)
    params = {"user_id": user_id, "id": address_id}

    async def work(tx: Tx) -> int:
        return await tx.execute(store.DELETE_ADDRESS, params)

    if not await db.transaction(work):
        raise AddressNotFound(f"address {address_id} does not exist")


@dataclass(frozen=True)
class NewAccount:
    """A B2B pharmacy account and its first user, the account admin."""

    account_id: str
    name: str
    segment: str
    dea_number: str
    dea_schedules: list[str]
    dea_expires_on: str
    state_licence: str
    id_340b: str | None
    can_order_schedule_ii: bool
    admin_email: str
    admin_password: str


async def create_account(db: Database, new: NewAccount) -> bool:
    """The account and its admin; False if the account already exists (nothing changes)."""
    domain.check_account(new.account_id, new.dea_number, new.dea_schedules, new.dea_expires_on)
    domain.Segment(new.segment)
    email = domain.normalise_email(new.admin_email)
    domain.check_password(new.admin_password, email=email)
    password_hash = await hash_password(new.admin_password)
    user_id = new_id()

    async def work(tx: Tx) -> bool:
        now = utcnow()
        account = {
            "id": new.account_id,
            "name": new.name,
            "segment": new.segment,
            "dea_number": new.dea_number,
            "dea_schedules": new.dea_schedules,
            "dea_expires_on": new.dea_expires_on,
            "state_licence": new.state_licence,
            "id_340b": new.id_340b,
            "can_order_schedule_ii": new.can_order_schedule_ii,
            "at": now,
        }
        if not await tx.execute(store.INSERT_ORGANISATION, account):
            return False
        admin = {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": "Account",
            "last_name": "Admin",
            "roles": [domain.Role.ACCOUNT_ADMIN.value, domain.Role.BUYER.value],
            "at": now,
        }
        if not await tx.execute(store.INSERT_USER, admin):
            raise EmailTaken("this e-mail is already registered")
        join = {"id": user_id, "organisation_id": new.account_id, "at": now}
        await tx.execute(store.JOIN_ORGANISATION, join)
        await _user_created(tx, user_id, email, "Account", "Admin")
        opened = AccountCreated(
            account_id=new.account_id,
            name=new.name,
            segment=new.segment,
            id340b=new.id_340b,
            can_order_schedule_ii=new.can_order_schedule_ii,
        )
        await emit(tx, new_message(opened, source=SOURCE, aggregate_id=new.account_id))
        return True

    return await db.transaction(work)


async def account_claims(db: Database, organisation_id: str | None) -> dict[str, Any]:
    """Seed 000's account claims, read from the identity store when the token is issued."""
    if organisation_id is None:
        return {}
    org = await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": organisation_id}))
    if org is None:
        return {}
    return {
        "account": org["id"],
        "segment": org["segment"],
        "dea_active": domain.dea_active(org["dea_expires_on"], utcnow().date()),
        "340b": org["id_340b"] is not None,
        "can_order_schedule_II": bool(org["can_order_schedule_ii"]),
    }


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class NotAccountAdmin(OrderlyError):
    status = 403
    code = "not_account_admin"
    title = "Only the account's admins may do this"


MEMBER_ROLES = frozenset({domain.Role.BUYER, domain.Role.APPROVER, domain.Role.ACCOUNT_ADMIN})


def _member_roles(roles: Sequence[str]) -> list[str]:
    """Sorted, without repeats; only roles a member of an account can have, at least one."""
    wanted = sorted(set(roles))
    if not wanted or not set(wanted) <= MEMBER_ROLES:
        allowed = ", ".join(sorted(MEMBER_ROLES))
        raise domain.InvalidAccount(f"a member's roles are one or more of: {allowed}")
    return wanted


async def _member(db: Database, caller: Principal, account_id: str) -> Row | None:
    """The caller's user row as the identity store has it now, if it belongs to the account.

    Token claims are hints: membership and roles are re-read here for every account action."""
    if caller.is_operator:
        return None
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": caller.user_id}))
    if row is None or row["disabled_at"] is not None or row["organisation_id"] != account_id:
        raise AccountNotFound(f"account {account_id} does not exist")
    return row


def _account_view(org: Row) -> dict[str, Any]:
    return {
        "accountId": org["id"],
        "name": org["name"],
        "segment": org["segment"],
        "deaNumber": org["dea_number"],
        "deaSchedules": org["dea_schedules"],
        "deaExpiresOn": org["dea_expires_on"],
        "deaActive": domain.dea_active(org["dea_expires_on"], utcnow().date()),
        "stateLicence": org["state_licence"],
        "id340b": org["id_340b"],
        "canOrderScheduleII": bool(org["can_order_schedule_ii"]),
    }


async def get_account(db: Database, caller: Principal, account_id: str) -> dict[str, Any]:
    """Its members and operators see an account; to anyone else it does not exist."""
    await _member(db, caller, account_id)
    org = await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": account_id}))
    if org is None:
        raise AccountNotFound(f"account {account_id} does not exist")
    return _account_view(org)


async def list_members(db: Database, caller: Principal, account_id: str) -> list[dict[str, Any]]:
    await get_account(db, caller, account_id)
    rows = await db.read(
        lambda tx: tx.fetch_all(store.ORGANISATION_USERS, {"organisation_id": account_id})
    )
    return [_user_view(row) for row in rows]


async def add_member(
    db: Database, caller: Principal, account_id: str, new: Registration
) -> dict[str, Any]:
    """An account admin (or an operator) adds a buyer, an approver or another admin.

    The new member's first login asks it to set up its second factor."""
    me = await _member(db, caller, account_id)
    if me is not None and domain.Role.ACCOUNT_ADMIN not in me["roles"]:
        raise NotAccountAdmin("only an account admin adds users to the account")
    roles = _member_roles(new.roles)
    if await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": account_id})) is None:
        raise AccountNotFound(f"account {account_id} does not exist")
    member = Registration(
        new.email,
        new.password,
        new.first_name,
        new.last_name,
        tuple(roles),
        organisation_id=account_id,
    )
    user_id = await register_user(db, member)
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    assert row is not None
    return _user_view(row)


class LastAccountAdmin(Conflict):
    code = "last_account_admin"
    title = "An account keeps at least one admin"


async def set_member_roles(
    db: Database, caller: Principal, account_id: str, user_id: str, roles: list[str]
) -> dict[str, Any]:
    """An account admin (or an operator) changes what a member may do; takes effect at the
    member's next order, whatever its token says, since orders re-read it."""
    me = await _member(db, caller, account_id)
    if me is not None and domain.Role.ACCOUNT_ADMIN not in me["roles"]:
        raise NotAccountAdmin("only an account admin changes members' roles")
    wanted = _member_roles(roles)

    async def work(tx: Tx) -> Row:
        member = await tx.fetch_one(store.USER_BY_ID, {"id": user_id})
        if member is None or member["organisation_id"] != account_id:
            raise UserNotFound(f"user {user_id} is not a member of account {account_id}")
        if domain.Role.ACCOUNT_ADMIN in member["roles"] and domain.Role.ACCOUNT_ADMIN not in wanted:
            members = await tx.fetch_all(store.ORGANISATION_USERS, {"organisation_id": account_id})
            admins = [
                m
                for m in members
                if domain.Role.ACCOUNT_ADMIN in m["roles"] and m["disabled_at"] is None
            ]
            if len(admins) <= 1:
                raise LastAccountAdmin("the account would be left without an admin")
        params = {"id": user_id, "roles": wanted, "at": utcnow()}
        await tx.execute(store.SET_ROLES, params)
        updated = await tx.fetch_one(store.USER_BY_ID, {"id": user_id})
        assert updated is not None
        return updated

    return _user_view(await db.transaction(work))
