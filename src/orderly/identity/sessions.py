"""Sessions: opened with an access and a refresh token, refreshed by rotation, ended."""

from datetime import timedelta
from typing import Any

from orderly.identity import store
from orderly.identity.accounts import account_claims
from orderly.identity.messages import SOURCE, SessionRevoked
from orderly.identity.tokens import TokenService, new_refresh_token, refresh_hash
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx


class InvalidRefreshToken(OrderlyError):
    status = 401
    code = "invalid_refresh_token"
    title = "Refresh token not valid"


class RefreshTokenReused(InvalidRefreshToken):
    """The session `session_id` was revoked because an old refresh token came back."""

    def __init__(self, detail: str, session_id: str) -> None:
        super().__init__(detail)
        self.session_id = session_id


async def open_session(db: Database, tokens: TokenService, user: Row) -> dict[str, Any]:
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
            await revoke_session(tx, row["session_id"], row["user_id"], "refresh_reuse")
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
        lambda tx: revoke_session(tx, principal.session_id, principal.user_id, "logout")
    )


async def revoke_session(tx: Tx, session_id: str, user_id: str, reason: str) -> None:
    """End a session and tell every process that checks tokens (`session.revoked`)."""
    params = {"id": session_id, "at": utcnow(), "reason": reason}
    if await tx.execute(store.REVOKE_SESSION, params):
        revoked = SessionRevoked(session_id=session_id, user_id=user_id, reason=reason)
        await emit(tx, new_message(revoked, source=SOURCE, aggregate_id=user_id))


async def session_is_live(db: Database, session_id: str) -> bool:
    row = await db.read(lambda tx: tx.fetch_one(store.SESSION_STATE, {"id": session_id}))
    return row is not None and row["revoked_at"] is None and row["disabled_at"] is None
