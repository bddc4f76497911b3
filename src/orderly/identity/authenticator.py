"""Turning a bearer token into a `Principal`, in the identity process or beside it.

Both authenticators keep what they learnt about a session for a short while, so a request
costs neither a database read nor a call to identity. Revocation is pushed: identity
publishes `session.revoked` and `user.disabled` from its outbox, and every process drops the
sessions concerned as the message arrives (`forget`). In the process that ended the session,
that happens before the answer goes out. The cache lifetime bounds how long a lost push
could leave a revoked token working.
"""

import time
from typing import Protocol

import httpx

from orderly.identity.messages import SessionRevoked, UserDisabled
from orderly.identity.sessions import session_is_live
from orderly.identity.tokens import ENROLMENT_SCOPE, InvalidToken, TokenService
from orderly.kernel.errors import Unavailable
from orderly.kernel.principal import Principal
from orderly.messaging.envelope import Envelope
from orderly.storage import Database
from orderly.web.clients import service_client

# How long a session known to be live is trusted without asking again. A revocation that
# is pushed ends it at once; this bounds the damage of one that never arrives.
SESSION_CACHE_SECONDS = 30.0
# How long a refusal from identity is remembered by another service.
REFUSAL_CACHE_SECONDS = 5.0
_CACHE_LIMIT = 50_000


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal:
        """The caller behind `token`; `InvalidToken` if there is none."""
        ...

    def forget(self, *, session_id: str = "", user_id: str = "") -> None:
        """A session (or every session of a user) has ended: stop trusting what was cached."""
        ...

    async def close(self) -> None: ...


async def on_revocation(authenticator: Authenticator, message: Envelope) -> None:
    """Apply a pushed `session.revoked` or `user.disabled` to the cache."""
    if message.type == SessionRevoked.TYPE:
        authenticator.forget(session_id=message.read(SessionRevoked).session_id)
    elif message.type == UserDisabled.TYPE:
        authenticator.forget(user_id=message.read(UserDisabled).user_id)


class _Cache:
    """Entries with a deadline, dropped by session or by user."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def get(self, key: str, now: float) -> tuple[float, Principal | None] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry

    def put(self, key: str, until: float, principal: Principal | None, now: float) -> None:
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
        self._entries[key] = (until, principal)

    def drop(self, session_id: str, user_id: str) -> None:
        gone = [
            key
            for key, (_, p) in self._entries.items()
            if p is not None
            and ((session_id and p.session_id == session_id) or (user_id and p.user_id == user_id))
        ]
        for key in gone:
            del self._entries[key]


def _until(principal: Principal, now: float) -> float:
    """Monotonic deadline: the cache lifetime, but never past the token's expiry."""
    left = principal.expires_at - time.time()
    return now + max(0.0, min(SESSION_CACHE_SECONDS, left))


class LocalAuthenticator:
    """Identity in this process: verify the signature, then check the session is live."""

    def __init__(self, tokens: TokenService, identity: Database) -> None:
        self._tokens = tokens
        self._identity = identity
        self._sessions = _Cache()

    async def authenticate(self, token: str) -> Principal:
        claims = await self._tokens.verify(token)
        principal = Principal(
            user_id=claims["sub"],
            session_id=claims["sid"],
            roles=tuple(claims.get("roles") or ()),
            account=claims.get("account"),
            segment=claims.get("segment"),
            enrolment_only=claims.get("scope") == ENROLMENT_SCOPE,
            expires_at=int(claims["exp"]),
        )
        now = time.monotonic()
        if self._sessions.get(principal.session_id, now) is not None:
            return principal
        # Claims are hints: the session and its user are re-read from the store.
        if not await session_is_live(self._identity, principal.session_id):
            raise InvalidToken("the session has ended")
        self._sessions.put(principal.session_id, _until(principal, now), principal, now)
        return principal

    def forget(self, *, session_id: str = "", user_id: str = "") -> None:
        self._sessions.drop(session_id, user_id)

    async def close(self) -> None:
        return None


class RemoteAuthenticator:
    """Identity elsewhere: ask it (`GET /api/v1/auth/session`), and keep its answers."""

    def __init__(self, identity_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(identity_url, timeout)
        self._tokens = _Cache()

    async def authenticate(self, token: str) -> Principal:
        now = time.monotonic()
        cached = self._tokens.get(token, now)
        if cached is not None:
            if cached[1] is None:
                raise InvalidToken("the token was refused")
            return cached[1]
        try:
            response = await self._client.get(
                "/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"identity is unreachable ({type(error).__name__})") from None
        if response.status_code == 401:
            self._tokens.put(token, now + REFUSAL_CACHE_SECONDS, None, now)
            raise InvalidToken("the token was refused")
        if response.status_code != 200:
            raise Unavailable(f"identity answered {response.status_code}")
        body = response.json()
        principal = Principal(
            user_id=body["userId"],
            session_id=body["sessionId"],
            roles=tuple(body["roles"]),
            account=body.get("account"),
            segment=body.get("segment"),
            enrolment_only=bool(body.get("enrolmentOnly")),
            expires_at=int(body["expiresAt"]),
        )
        self._tokens.put(token, _until(principal, now), principal, now)
        return principal

    def forget(self, *, session_id: str = "", user_id: str = "") -> None:
        self._tokens.drop(session_id, user_id)

    async def close(self) -> None:
        await self._client.aclose()
