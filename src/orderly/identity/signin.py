"""Signing in: the password, then the second factor (or its enrolment), then a session."""

from typing import Any

from orderly.identity import audit, domain, mfa, store
from orderly.identity.passwords import Passwords
from orderly.identity.sessions import open_session, revoke_session
from orderly.identity.throttle import remember_client, throttle
from orderly.identity.tokens import ENROLMENT_SCOPE, ENROLMENT_TTL, TokenService
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.storage import Database, Row, Tx


class InvalidCredentials(OrderlyError):
    status = 401
    code = "invalid_credentials"
    title = "Wrong e-mail or password"


async def login(
    db: Database,
    tokens: TokenService,
    passwords: Passwords,
    email: str,
    password: str,
    client: str = "",
) -> dict[str, Any]:
    """The same refusal, in about the same time, whether or not the e-mail exists."""
    email = domain.normalise_email(email)
    client = domain.client_key(client)
    await throttle(db, "login", email, client)
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_EMAIL, {"email": email}))
    matches = await passwords.verify(user["password_hash"] if user else None, password)
    accepted = user is not None and matches and user["disabled_at"] is None
    await audit.record(db, "login", "success" if accepted else "failure", email, client)
    await throttle(db, "login", email, client, own_failure=not accepted)
    if user is None or not accepted:
        raise InvalidCredentials("the e-mail or the password is wrong")
    if await mfa.enabled(db, user["id"]):
        return {"mfaRequired": True, "mfaToken": await mfa.open_challenge(db, user["id"])}
    await remember_client(db, email, client)
    if user["organisation_id"] is not None:
        return await _open_enrolment_session(db, tokens, user)
    return await open_session(db, tokens, user)


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
        lambda tx: revoke_session(tx, caller.session_id, caller.user_id, "enrolled")
    )
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": caller.user_id}))
    if user is None or user["disabled_at"] is not None:
        raise InvalidCredentials("the account cannot log in")
    return {**activated, **await open_session(db, tokens, user)}


async def complete_mfa_login(
    db: Database, tokens: TokenService, mfa_token: str, code: str, client: str = ""
) -> dict[str, Any]:
    """Second step of a login with MFA: a TOTP code (or a recovery code) for the challenge.

    Guesses count per user, across its challenges: a fresh login must not buy fresh guesses."""
    client = domain.client_key(client)
    subject = await mfa.challenge_email(db, mfa_token) or f"mfa:{mfa.digest_prefix(mfa_token)}"
    await throttle(db, "mfa", subject, client)
    user_id = await db.transaction(lambda tx: mfa.answer_challenge(tx, mfa_token, code))
    await audit.record(db, "mfa", "failure" if user_id is None else "success", subject, client)
    await throttle(db, "mfa", subject, client, own_failure=user_id is None)
    if user_id is None:
        raise mfa.InvalidMfaCode("the code is wrong, expired or already used")
    user = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    if user is None or user["disabled_at"] is not None:
        raise InvalidCredentials("the account cannot log in")
    await remember_client(db, user["email"], client)
    return await open_session(db, tokens, user)
