"""Access tokens: ES256 JWTs signed by keys kept in the identity database.

The newest unretired key signs; every unretired key verifies, so a rotation leaves the tokens
already issued valid until they expire. Refresh tokens are opaque random strings, stored only
as their SHA-256.
"""

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from orderly.identity import store
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx

ALGORITHM = "ES256"
# The `scope` of a token that only lets a B2B user set up its second factor.
ENROLMENT_SCOPE = "mfa_enrolment"
ENROLMENT_TTL = 600
_RELOAD_AFTER = 5.0  # seconds between key reloads triggered by an unknown `kid`


class InvalidToken(OrderlyError):
    status = 401
    code = "invalid_token"
    title = "Invalid or expired token"
    headers: ClassVar[Mapping[str, str] | None] = {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: int


def _new_key() -> tuple[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return new_id(), pem


def _load_private(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


class KeyRing:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._signing: tuple[str, ec.EllipticCurvePrivateKey] | None = None
        self._public: dict[str, ec.EllipticCurvePublicKey] = {}
        self._loaded_at = 0.0

    async def load(self) -> None:
        """Read the active keys; make the first one if there is none."""
        rows = await self._db.read(lambda tx: tx.fetch_all(store.ACTIVE_KEYS))
        if not rows:
            await self.rotate()
            return
        self._apply(rows)

    def _apply(self, rows: list[Any]) -> None:
        keys = {row["kid"]: _load_private(row["private_pem"]) for row in rows}
        newest = rows[0]["kid"]
        self._signing = (newest, keys[newest])
        self._public = {kid: key.public_key() for kid, key in keys.items()}
        self._loaded_at = time.monotonic()

    async def rotate(self) -> str:
        """Sign with a new key from now on; older keys keep verifying."""
        kid, pem = _new_key()

        async def work(tx: Tx) -> None:
            await tx.execute(store.INSERT_KEY, {"kid": kid, "private_pem": pem, "at": utcnow()})

        await self._db.transaction(work)
        rows = await self._db.read(lambda tx: tx.fetch_all(store.ACTIVE_KEYS))
        self._apply(rows)
        return kid

    @property
    def signing(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        assert self._signing is not None, "KeyRing.load() was not awaited"
        return self._signing

    async def refresh_if_stale(self) -> None:
        """Pick up a rotation made by another process (`orderly keys rotate`)."""
        if time.monotonic() - self._loaded_at > _RELOAD_AFTER:
            await self.load()

    async def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        key = self._public.get(kid)
        if key is None and time.monotonic() - self._loaded_at > _RELOAD_AFTER:
            await self.load()  # another process may have rotated
            key = self._public.get(kid)
        return key

    async def published(self) -> dict[str, list[dict[str, Any]]]:
        await self.refresh_if_stale()
        return self.jwks()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        keys = []
        for kid, public in sorted(self._public.items()):
            jwk: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": keys}


_VERIFIED_LIMIT = 100_000


class TokenService:
    def __init__(self, keys: KeyRing, settings: TokenSettings) -> None:
        self.keys = keys
        self.settings = settings
        # Byte-identical tokens already verified, with their expiry: a client sends the same
        # token many times, and the ES256 check is most of what authentication costs. Only
        # the signature work is skipped; expiry is checked on every use.
        self._verified: dict[str, dict[str, Any]] = {}

    async def issue(
        self, user_id: str, session_id: str, roles: list[str], ttl: int = 0, **claims: Any
    ) -> str:
        await self.keys.refresh_if_stale()
        kid, key = self.keys.signing
        now = int(time.time())
        payload = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": user_id,
            "iat": now,
            "nbf": now,
            "exp": now + (ttl or self.settings.access_ttl),
            "jti": new_id(),
            "sid": session_id,
            "typ": "access",
            "roles": roles,
            **claims,
        }
        return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; `InvalidToken` for anything else."""
        known = self._verified.get(token)
        if known is not None:
            if known["exp"] > time.time():
                return known
            del self._verified[token]
        claims = await self._verify_signed(token)
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    async def _verify_signed(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a JWT") from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or len(kid) > 64:
            raise InvalidToken("the token is not signed by this issuer")
        key = await self.keys.public_key(kid)
        if key is None:
            raise InvalidToken("the token is not signed by this issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "nbf", "jti", "sub", "iss", "aud", "sid"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token was refused ({type(error).__name__})") from None
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        return claims


def new_refresh_token() -> tuple[str, str]:
    """(the token handed to the client, the hash kept in the database)."""
    token = secrets.token_urlsafe(32)
    return token, refresh_hash(token)


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
