"""Identity commands: register, log in, refresh, log out; and the user read model."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderly.identity import domain, mfa, store
from orderly.identity.messages import (
    ACCOUNT_CREATED,
    SESSION_REVOKED,
    SOURCE,
    USER_CREATED,
    USER_DISABLED,
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


async def register(db: Database, tokens: TokenService, new: Registration) -> dict[str, Any]:
    """Seed 002 flow 1: store the user with a hashed password, publish, answer with a token."""
    user_id, session_id, email = await register_user(db, new)
    token = await tokens.issue(user_id, session_id, list(new.roles))
    return {"userId": user_id, "email": email, "token": token}


async def register_user(db: Database, new: Registration) -> tuple[str, str, str]:
    """Store a new user and its first session, and publish `user.created`.

    (user id, session id, normalised e-mail)."""
    email = domain.normalise_email(new.email)
    domain.check_password(new.password, email=email)
    password_hash = await hash_password(new.password)
    user_id, session_id = new_id(), new_id()

    async def work(tx: Tx) -> None:
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
            raise EmailTaken("this e-mail is already registered")
        if new.organisation_id is not None:
            join = {"id": user_id, "organisation_id": new.organisation_id, "at": now}
            await tx.execute(store.JOIN_ORGANISATION, join)
        await tx.execute(store.INSERT_SESSION, {"id": session_id, "user_id": user_id, "at": now})
        await _user_created(tx, user_id, email, new.first_name, new.last_name)

    await db.transaction(work)
    return user_id, session_id, email


async def _user_created(tx: Tx, user_id: str, email: str, first: str, last: str) -> None:
    data = {"userId": user_id, "email": email, "firstName": first, "lastName": last}
    await emit(tx, new_message(USER_CREATED, data, source=SOURCE, aggregate_id=user_id))


class TooManyAttempts(OrderlyError):
    status = 429
    code = "too_many_attempts"
    title = "Too many failed attempts"


# Brute force: this many failures for one e-mail, or from one client address, within the
# window lock further attempts out until the oldest failure leaves the window. A client may
# fail more often than one e-mail may be failed on: offices share an address.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 30
FAILURE_WINDOW = timedelta(minutes=5)


async def login(
    db: Database, tokens: TokenService, email: str, password: str, client: str = ""
) -> dict[str, Any]:
    """The same refusal, in about the same time, whether or not the e-mail exists."""
    email = domain.normalise_email(email)
    await _throttle(db, email, client)
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_EMAIL, {"email": email}))
    matches = await verify_password(user["password_hash"] if user else None, password)
    if user is None or not matches or user["disabled_at"] is not None:
        await _audit(db, "login", "failure", email, client)
        raise InvalidCredentials("the e-mail or the password is wrong")
    await _audit(db, "login", "success", email, client)
    if await mfa.enabled(db, user["id"]):
        return {"mfaRequired": True, "mfaToken": await mfa.open_challenge(db, user["id"])}
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
    """Second step of a login with MFA: a TOTP code (or a recovery code) for the challenge."""
    subject = f"mfa:{mfa.digest_prefix(mfa_token)}"
    await _throttle(db, subject, client)
    user_id = await db.transaction(lambda tx: mfa.answer_challenge(tx, mfa_token, code))
    if user_id is None:
        await _audit(db, "mfa", "failure", subject, client)
        raise mfa.InvalidMfaCode("the code is wrong, expired or already used")
    await _audit(db, "mfa", "success", subject, client)
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    if user is None or user["disabled_at"] is not None:
        raise InvalidCredentials("the account cannot log in")
    return await _open_session(db, tokens, user)


async def _throttle(db: Database, email: str, client: str) -> None:
    now = utcnow()
    params = {"since": now - FAILURE_WINDOW, "email": email, "client": client or "-"}
    row = await db.read(lambda tx: tx.fetch_one(store.RECENT_FAILURES, params))
    if row is None or (
        int(row["by_email"] or 0) < MAX_FAILURES_PER_EMAIL
        and int(row["by_client"] or 0) < MAX_FAILURES_PER_CLIENT
    ):
        return
    oldest = row["oldest"]
    if isinstance(oldest, str):  # SQLite does not type aggregates
        oldest = datetime.fromisoformat(oldest)
    wait = max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1)
    raise TooManyAttempts(
        "too many failed attempts; try again later", retry_after=wait
    ).with_headers({"Retry-After": str(wait)})


async def _audit(db: Database, kind: str, outcome: str, email: str, client: str) -> None:
    event = {
        "id": new_id(),
        "kind": kind,
        "outcome": outcome,
        "email": email,
        "client": client or "-",
        "at": utcnow(),
    }

    async def work(tx: Tx) -> None:
        await tx.execute(store.INSERT_AUTH_EVENT, event)

    await db.transaction(work)


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
        data = {"sessionId": session_id, "userId": user_id, "reason": reason}
        await emit(tx, new_message(SESSION_REVOKED, data, source=SOURCE, aggregate_id=user_id))


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
            data = {"userId": user_id}
            await emit(tx, new_message(USER_DISABLED, data, source=SOURCE, aggregate_id=user_id))
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
        data = {
            "accountId": new.account_id,
            "name": new.name,
            "segment": new.segment,
            "id340b": new.id_340b,
            "canOrderScheduleII": new.can_order_schedule_ii,
        }
        await emit(
            tx, new_message(ACCOUNT_CREATED, data, source=SOURCE, aggregate_id=new.account_id)
        )
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
    user_id, _, _ = await register_user(db, member)
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
