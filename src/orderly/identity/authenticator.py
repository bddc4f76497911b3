"""Turning a bearer token into a `Principal`, in the identity process or beside it."""

import time
from typing import Protocol

import httpx

from orderly.identity.service import session_is_live
from orderly.identity.tokens import ENROLMENT_SCOPE, InvalidToken, TokenService
from orderly.kernel.errors import Unavailable
from orderly.kernel.principal import Principal
from orderly.storage import Database

# How long a remote answer about a token is reused. Logout and disabling reach the other
# processes of a distributed deployment within this time; in one process, at once.
REMOTE_CACHE_SECONDS = 5.0
_CACHE_LIMIT = 50_000


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal:
        """The caller behind `token`; `InvalidToken` if there is none."""
        ...

    async def close(self) -> None: ...


class LocalAuthenticator:
    """Identity in this process: verify the signature, then re-read the session."""

    def __init__(self, tokens: TokenService, identity: Database) -> None:
        self._tokens = tokens
        self._identity = identity

    async def authenticate(self, token: str) -> Principal:
        claims = await self._tokens.verify(token)
        # Claims are hints: the session and the user are re-read at every use.
        if not await session_is_live(self._identity, claims["sid"]):
            raise InvalidToken("the session has ended")
        return Principal(
            user_id=claims["sub"],
            session_id=claims["sid"],
            roles=tuple(claims.get("roles") or ()),
            account=claims.get("account"),
            enrolment_only=claims.get("scope") == ENROLMENT_SCOPE,
        )

    async def close(self) -> None:
        return None


class RemoteAuthenticator:
    """Identity elsewhere: ask it (`GET /api/v1/auth/session`), and keep answers briefly."""

    def __init__(self, identity_url: str, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=identity_url, timeout=timeout)
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, token: str) -> Principal:
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
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
            self._remember(token, None, now)
            raise InvalidToken("the token was refused")
        if response.status_code != 200:
            raise Unavailable(f"identity answered {response.status_code}")
        body = response.json()
        principal = Principal(
            user_id=body["userId"],
            session_id=body["sessionId"],
            roles=tuple(body["roles"]),
            account=body.get("account"),
            enrolment_only=bool(body.get("enrolmentOnly")),
        )
        self._remember(token, principal, now)
        return principal

    def _remember(self, token: str, principal: Principal | None, now: float) -> None:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        self._cache[token] = (now + REMOTE_CACHE_SECONDS, principal)

    async def close(self) -> None:
        await self._client.aclose()
