"""Password hashing with argon2id, off the event loop, at the cost the deployment sets."""

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from orderly.config import Settings


class Passwords:
    """Hashes new passwords at one cost and verifies any stored hash.

    argon2id; by default the library's recommended cost (64 MiB, 3 passes). A stored hash
    carries its own parameters, so a cost changed later still verifies earlier passwords."""

    def __init__(self, memory_kib: int = 65_536, passes: int = 3) -> None:
        self._hasher = PasswordHasher(time_cost=passes, memory_cost=memory_kib)

    @functools.cached_property
    def _dummy(self) -> str:
        """A hash verified against when the e-mail is unknown, so that both answers take
        the same time."""
        return self._hasher.hash("orderly-timing-equaliser")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        hasher, dummy = self._hasher, self._dummy

        def verify() -> bool:
            try:
                return hasher.verify(stored or dummy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)


@functools.cache
def passwords_for(settings: Settings) -> Passwords:
    """The deployment's hashing (`ORDERLY_PASSWORD_HASH_MEMORY`, `ORDERLY_PASSWORD_HASH_PASSES`),
    one per settings, so that the timing hash is made once."""
    return Passwords(settings.password_hash_memory, settings.password_hash_passes)
