"""Token verification: Orderly's TokenService next to PyJWT's bare decode.

Each token is verified once, so the figure is the full ES256 check; a token seen before is
served from TokenService's cache of verified tokens and costs next to nothing."""

import tempfile
import time

import jwt

from orderly.identity.tokens import KeyRing, TokenService, TokenSettings
from orderly.storage import open_database
from orderly.storage.migrations import migrate


async def verifications(n: int) -> tuple[float, float]:
    """(TokenService.verify per second, jwt.decode per second) on one token."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}"
        await migrate(url, "identity")
        db = await open_database(url, "identity")
        try:
            keys = KeyRing(db)
            await keys.load()
            settings = TokenSettings("orderly", "orderly-api", 900, 3600)
            service = TokenService(keys, settings)
            issued = [await service.issue(f"user-{i}", f"s-{i}", ["customer"]) for i in range(n)]
            started = time.perf_counter()
            for token in issued:
                await service.verify(token)
            ours = n / (time.perf_counter() - started)
            public = keys.signing[1].public_key()
            started = time.perf_counter()
            for token in issued:
                jwt.decode(token, public, algorithms=["ES256"], audience="orderly-api")
            raw = n / (time.perf_counter() - started)
        finally:
            await db.close()
    return ours, raw
