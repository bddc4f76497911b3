"""TOTP second factor: enrolment, activation with recovery codes, and checking a code.

A code is spent the moment it is accepted: its time step is recorded for the user in the
database, under a unique key, so the same code cannot be used twice, not even against
another process of the same deployment.
"""

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

import pyotp

from orderly.identity import store
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, OrderlyError
from orderly.kernel.principal import Principal
from orderly.storage import Database, Tx

ISSUER = "Orderly"
CHALLENGE_TTL = timedelta(minutes=5)
RECOVERY_CODES = 10
STEP = 30


class InvalidMfaCode(OrderlyError):
    status = 401
    code = "invalid_mfa_code"
    title = "Second factor not accepted"


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    title = "Second factor already in force"


class MfaNotEnrolled(Conflict):
    code = "mfa_not_enrolled"
    title = "No second factor to activate"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def digest_prefix(mfa_token: str) -> str:
    """What the audit keeps of a challenge that names no user: enough to group attempts, not
    to replay it."""
    return _digest(mfa_token)[:16]


async def enrol(db: Database, caller: Principal, email: str) -> dict[str, Any]:
    """A new secret, not yet in force until a code from it is shown (`activate`)."""
    secret = pyotp.random_base32()

    async def work(tx: Tx) -> None:
        factor = await tx.fetch_one(store.FACTOR, {"user_id": caller.user_id})
        if factor is not None and factor["enabled_at"] is not None:
            raise MfaAlreadyEnabled("a second factor is already in force for this user")
        params = {"user_id": caller.user_id, "secret": secret, "at": utcnow()}
        await tx.execute(store.UPSERT_FACTOR, params)

    await db.transaction(work)
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return {"secret": secret, "provisioningUri": uri}


async def activate(db: Database, caller: Principal, code: str) -> dict[str, Any]:
    """Put the enrolled secret in force; answer with recovery codes, shown this once."""
    recovery = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]

    async def work(tx: Tx) -> None:
        factor = await tx.fetch_one(store.FACTOR, {"user_id": caller.user_id})
        if factor is None:
            raise MfaNotEnrolled("enrol first: POST /api/v1/auth/mfa/enrol")
        if not await spend_totp(tx, caller.user_id, factor["secret"], code):
            raise InvalidMfaCode("the code is wrong, expired or already used")
        now = utcnow()
        await tx.execute(store.ENABLE_FACTOR, {"user_id": caller.user_id, "at": now})
        await tx.execute(store.DELETE_RECOVERY, {"user_id": caller.user_id})
        await tx.execute_many(
            store.INSERT_RECOVERY,
            [{"code_hash": _digest(c), "user_id": caller.user_id} for c in recovery],
        )

    await db.transaction(work)
    return {"enabled": True, "recoveryCodes": recovery}


async def enabled(db: Database, user_id: str) -> bool:
    factor = await db.read(lambda tx: tx.fetch_one(store.FACTOR, {"user_id": user_id}))
    return factor is not None and factor["enabled_at"] is not None


async def open_challenge(db: Database, user_id: str) -> str:
    """The `mfaToken` that, with a code, completes a login."""
    token = secrets.token_urlsafe(32)

    async def work(tx: Tx) -> None:
        expires_at = utcnow() + CHALLENGE_TTL
        params = {"token_hash": _digest(token), "user_id": user_id, "expires_at": expires_at}
        await tx.execute(store.INSERT_CHALLENGE, params)

    await db.transaction(work)
    return token


async def challenge_email(db: Database, mfa_token: str) -> str | None:
    """Whose login this challenge would complete: code guesses are counted per user."""
    params = {"token_hash": _digest(mfa_token)}
    row = await db.read(lambda tx: tx.fetch_one(store.CHALLENGE_EMAIL, params))
    return None if row is None else str(row["email"])


async def answer_challenge(tx: Tx, mfa_token: str, code: str) -> str | None:
    """The user whose challenge this code answers, or None. Uses up the challenge if so."""
    digest = _digest(mfa_token)
    challenge = await tx.fetch_one(store.CHALLENGE, {"token_hash": digest})
    now = utcnow()
    if challenge is None or challenge["used_at"] is not None or challenge["expires_at"] <= now:
        return None
    user_id: str = challenge["user_id"]
    factor = await tx.fetch_one(store.FACTOR, {"user_id": user_id})
    if factor is None or factor["enabled_at"] is None:
        return None
    accepted = await spend_totp(tx, user_id, factor["secret"], code) or await _spend_recovery(
        tx, user_id, code
    )
    if not accepted or not await tx.execute(store.USE_CHALLENGE, {"token_hash": digest, "at": now}):
        return None
    return user_id


async def spend_totp(tx: Tx, user_id: str, secret: str, code: str) -> bool:
    """Accept a code of the current time step or either neighbour, once."""
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):
        moment = now + offset * STEP
        if hmac.compare_digest(totp.at(moment), code):
            step = int(moment // STEP)
            params = {"user_id": user_id, "timestep": step, "at": utcnow()}
            return bool(await tx.execute(store.SPEND_CODE, params))
    return False


async def _spend_recovery(tx: Tx, user_id: str, code: str) -> bool:
    params = {"code_hash": _digest(code.strip().lower()), "user_id": user_id, "at": utcnow()}
    return bool(await tx.execute(store.USE_RECOVERY, params))


async def seed(db: Database, email: str) -> None:
    """Give `email` a factor in force with a new random secret, unless it has one (demo data)."""

    async def work(tx: Tx) -> None:
        user = await tx.fetch_one(store.USER_BY_EMAIL, {"email": email})
        assert user is not None, f"no user {email}"
        factor = await tx.fetch_one(store.FACTOR, {"user_id": user["id"]})
        if factor is not None and factor["enabled_at"] is not None:
            return
        now = utcnow()
        params = {"user_id": user["id"], "secret": pyotp.random_base32(), "at": now}
        await tx.execute(store.UPSERT_FACTOR, params)
        await tx.execute(store.ENABLE_FACTOR, {"user_id": user["id"], "at": now})

    await db.transaction(work)


async def current(db: Database, email: str) -> tuple[str, str] | None:
    """(the code of this moment, the provisioning URI) of `email`'s factor, if it has one."""

    async def work(tx: Tx) -> tuple[str, str] | None:
        user = await tx.fetch_one(store.USER_BY_EMAIL, {"email": email})
        factor = await tx.fetch_one(store.FACTOR, {"user_id": user["id"]}) if user else None
        if factor is None:
            return None
        totp = pyotp.TOTP(factor["secret"])
        return totp.now(), totp.provisioning_uri(name=email, issuer_name=ISSUER)

    return await db.read(work)
