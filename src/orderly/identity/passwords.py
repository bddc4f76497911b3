"""Password hashing with argon2id, off the event loop."""

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id; by default the library's recommended cost (64 MiB, 3 passes). A stored hash
# carries its own parameters, so a cost changed later still verifies earlier passwords.
_COST = {"memory_cost": 65_536, "time_cost": 3}


def configure(memory_kib: int, passes: int) -> None:
    """The cost of new hashes (`ORDERLY_PASSWORD_HASH_MEMORY`, `ORDERLY_PASSWORD_HASH_PASSES`)."""
    _COST.update(memory_cost=memory_kib, time_cost=passes)
    _hasher.cache_clear()


@cache
def _hasher() -> tuple[PasswordHasher, str]:
    """The hasher, and a hash verified against when the e-mail is unknown, so that both
    answers take the same time."""
    hasher = PasswordHasher(time_cost=_COST["time_cost"], memory_cost=_COST["memory_cost"])
    return hasher, hasher.hash("orderly-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher()[0].hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    hasher, dummy = _hasher()

    def verify() -> bool:
        try:
            return hasher.verify(stored or dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
