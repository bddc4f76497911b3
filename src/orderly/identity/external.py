"""Trusting an external OpenID Connect issuer (Keycloak, Okta, ...) instead of Orderly's tokens.

With `ORDERLY_EXTERNAL_ISSUER` set, every process verifies bearer tokens against that
issuer's published keys (its JWKS, found through its discovery document unless
`ORDERLY_EXTERNAL_JWKS_URL` names it) and maps its claims onto a `Principal`:

- roles from the claim at `ORDERLY_EXTERNAL_ROLES_CLAIM`, a dotted path (`roles`,
  Keycloak's `realm_access.roles`, Okta's `groups`), renamed by `ORDERLY_EXTERNAL_ROLE_MAP`
  (`idp-name:orderly-role,...`); names that are not Orderly roles are dropped, and a user
  left with none is a customer;
- the B2B account from the claim at `ORDERLY_EXTERNAL_ACCOUNT_CLAIM`. A token that carries an
  account must show a second factor in `amr` (RFC 8176), since B2B sign-in requires MFA,
  unless `ORDERLY_EXTERNAL_TRUST_MFA` says the issuer enforces it by policy.

Keys are fetched only from the configured issuer: `jku`, `x5u` and `jwk` in a token's header
are never used. An unknown `kid` refetches the key set, at most once every few seconds.
Sessions are the issuer's: a token is good until it expires.
"""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import jwt

from orderly.config import Settings
from orderly.identity.domain import Role
from orderly.identity.tokens import InvalidToken
from orderly.kernel.errors import OrderlyError, Unavailable
from orderly.kernel.principal import Principal

ROLES = frozenset(role.value for role in Role)
SECOND_FACTORS = frozenset({"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris"})
_REFETCH_AFTER = 5.0
_LEEWAY = 10
_VERIFIED_LIMIT = 100_000


class MfaRequired(OrderlyError):
    status = 403
    code = "mfa_required"
    title = "Sign in with a second factor"
    headers: ClassVar[Mapping[str, str] | None] = {
        "WWW-Authenticate": 'Bearer error="insufficient_user_authentication"'
    }


@dataclass(frozen=True)
class ExternalIssuer:
    issuer: str
    audience: str
    jwks_url: str
    roles_claim: str
    role_map: Mapping[str, str]
    account_claim: str
    algorithms: tuple[str, ...]
    trust_mfa: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "ExternalIssuer":
        pairs = (item.split(":", 1) for item in settings.external_role_map.split(",") if item)
        return cls(
            issuer=settings.external_issuer,
            audience=settings.external_audience or settings.token_audience,
            jwks_url=settings.external_jwks_url,
            roles_claim=settings.external_roles_claim,
            role_map={idp.strip(): ours.strip() for idp, ours in pairs},
            account_claim=settings.external_account_claim,
            algorithms=settings.external_algorithms,
            trust_mfa=settings.external_trust_mfa,
        )


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`realm_access.roles`), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class ExternalAuthenticator:
    def __init__(self, issuer: ExternalIssuer, timeout: float = 5.0) -> None:
        self.issuer = issuer
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -_REFETCH_AFTER
        self._fetching = asyncio.Lock()
        self._verified: dict[str, Principal] = {}

    async def authenticate(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at > time.time():
                return known
            del self._verified[token]
        principal = self._principal(await self._claims(token))
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    async def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.issuer.algorithms or not isinstance(kid, str) or len(kid) > 128:
            raise InvalidToken("the token is not signed by the trusted issuer")
        key = await self._key(kid)
        if key is None:
            raise InvalidToken("the token is not signed by the trusted issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.issuer.audience,
                issuer=self.issuer.issuer,
                leeway=_LEEWAY,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken(f"the token was refused ({type(error).__name__})") from None
        return claims

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        raw = claim(claims, self.issuer.roles_claim)
        names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
        mapped = (self.issuer.role_map.get(str(n), str(n)) for n in names)
        ours = {r for r in mapped if r in ROLES}
        account = claim(claims, self.issuer.account_claim)
        account = account if isinstance(account, str) and account else None
        if account is not None and not self.issuer.trust_mfa:
            amr = claims.get("amr")
            if not isinstance(amr, list) or not SECOND_FACTORS & set(map(str, amr)):
                raise MfaRequired("an account's members sign in with a second factor (amr)")
        sid = claims.get("sid") or claims.get("jti") or ""
        return Principal(
            user_id=str(claims["sub"]),
            session_id=str(sid),
            roles=tuple(sorted(ours)) or (Role.CUSTOMER.value,),
            account=account,
            expires_at=int(claims["exp"]),
        )

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is not None or time.monotonic() - self._fetched_at < _REFETCH_AFTER:
            return key
        async with self._fetching:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= _REFETCH_AFTER:
                await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            url = self.issuer.jwks_url or await self._discover()
            response = await self._client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise Unavailable(
                f"the token issuer's keys are unreachable ({type(error).__name__})"
            ) from None
        self._fetched_at = time.monotonic()
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            usable = (
                isinstance(jwk, dict)
                and isinstance(jwk.get("kid"), str)
                and jwk.get("kty") in {"RSA", "EC", "OKP"}
                and jwk.get("use", "sig") == "sig"
            )
            if not usable:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue
        self._keys = keys

    async def _discover(self) -> str:
        base = self.issuer.issuer.rstrip("/")
        response = await self._client.get(f"{base}/.well-known/openid-configuration")
        response.raise_for_status()
        uri = response.json().get("jwks_uri")
        if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
            raise ValueError("the discovery document names no jwks_uri")
        return uri

    def forget(self, *, session_id: str = "", user_id: str = "") -> None:
        """Sessions are the issuer's; Orderly's own revocations do not concern its tokens."""

    async def close(self) -> None:
        await self._client.aclose()
