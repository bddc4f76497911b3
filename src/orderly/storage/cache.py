"""The read cache: entries kept in this process's memory, or in Redis for every process.

An entry is filled by a reader that found none, with the ticket its lookup gave: the key's
generation when the reader looked. A change that makes an entry wrong invalidates its key
once committed, which advances the generation, so a reader that read the database before
the change (and fills after the invalidation) is refused, and its older value never gets
in. A key may also be given a floor: fills of values whose version (a row's `updated_at`)
is below it are refused, for a change that is invalidated before it is committed.
"""

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog

from orderly.observability import CACHE_REQUESTS

log = structlog.get_logger(__name__)

# Milliseconds a key's generation and floor outlive its last invalidation in Redis: far
# longer than any read that could still fill with a ticket taken before it.
MARK_TTL_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Lookup:
    value: bytes | None
    # what a fill of this key must bring back; None: do not fill (the cache did not answer)
    ticket: int | None


class Cache(Protocol):
    """Bytes by key, filled only by readers whose ticket is still good."""

    async def lookup(self, keys: Sequence[str]) -> list[Lookup]: ...

    async def fill(
        self, key: str, value: bytes, ticket: int, version: int = 0, ttl: float | None = None
    ) -> bool:
        """Keep `value` for `key` (`ttl` seconds, or the cache's own) unless the key was
        invalidated since `ticket` was taken, or `version` is below its floor; whether it
        was kept."""
        ...

    async def invalidate(self, key: str, floor: int = 0) -> None:
        """Drop the key's entry and refuse fills with older tickets (and, with `floor`,
        fills of versions below it)."""
        ...

    async def close(self) -> None: ...


class MemoryCache:
    """This process's own: at most `size` entries, least recently used first out, each kept
    `ttl` seconds at most. The generation is one counter for every key; each invalidated
    key remembers when (the last `size` of them), and a fill older than a forgotten one is
    refused."""

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._values: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._marks: OrderedDict[str, tuple[int, int]] = OrderedDict()  # (generation, floor)
        self._generation = 0
        self._forgotten = 0  # the newest generation of a mark no longer kept

    async def lookup(self, keys: Sequence[str]) -> list[Lookup]:
        now = time.monotonic()
        found = []
        for key in keys:
            entry = self._values.get(key)
            if entry is not None and entry[1] <= now:
                del self._values[key]
                entry = None
            elif entry is not None:
                self._values.move_to_end(key)
            found.append(Lookup(None if entry is None else entry[0], self._generation))
        return found

    async def fill(
        self, key: str, value: bytes, ticket: int, version: int = 0, ttl: float | None = None
    ) -> bool:
        mark = self._marks.get(key)
        if mark is None and ticket < self._forgotten:
            return False
        if mark is not None and (mark[0] > ticket or version < mark[1]):
            return False
        self._values[key] = (value, time.monotonic() + (self._ttl if ttl is None else ttl))
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)
        return True

    async def invalidate(self, key: str, floor: int = 0) -> None:
        self._generation += 1
        self._values.pop(key, None)
        kept = self._marks.pop(key, (0, 0))
        self._marks[key] = (self._generation, max(kept[1], floor))
        while len(self._marks) > self._size:
            _, (generation, _floor) = self._marks.popitem(last=False)
            self._forgotten = max(self._forgotten, generation)

    async def close(self) -> None:
        self._values.clear()


# KEYS: value, generation, floor; ARGV: value, ticket, version, ttl (ms)
_FILL = """
local generation = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
if generation ~= tonumber(ARGV[2]) or tonumber(ARGV[3]) < floor then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
"""
# KEYS: value, generation, floor; ARGV: floor, how long the marks are kept (ms)
_INVALIDATE = """
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[1]) > floor then
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
end
redis.call('DEL', KEYS[1])
return 1
"""


class RedisCache:
    """Shared by every process of a deployment (its keys under `prefix`): an invalidation is
    seen by all at once. A key's value, generation and floor are three Redis keys with one
    hash tag (one slot in a cluster); a fill and an invalidation are each one Lua script, so
    the check and the write are atomic."""

    def __init__(self, url: str, prefix: str, ttl: float) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self._prefix = prefix
        self._ttl_ms = max(int(ttl * 1000), 1)
        self._fill = self._redis.register_script(_FILL)
        self._invalidate = self._redis.register_script(_INVALIDATE)

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:{{{key}}}"
        return [f"{base}:v", f"{base}:g", f"{base}:f"]

    async def ping(self) -> None:
        await self._redis.ping()

    async def lookup(self, keys: Sequence[str]) -> list[Lookup]:
        names = [name for key in keys for name in self._keys(key)[:2]]
        found = await self._redis.mget(names)
        return [Lookup(found[n], int(found[n + 1] or 0)) for n in range(0, len(found), 2)]

    async def fill(
        self, key: str, value: bytes, ticket: int, version: int = 0, ttl: float | None = None
    ) -> bool:
        ms = self._ttl_ms if ttl is None else max(int(ttl * 1000), 1)
        kept = await self._fill(keys=self._keys(key), args=[value, ticket, version, ms])
        return bool(kept)

    async def invalidate(self, key: str, floor: int = 0) -> None:
        await self._invalidate(keys=self._keys(key), args=[floor, MARK_TTL_MS])

    async def close(self) -> None:
        await self._redis.aclose()


def open_cache(url: str, prefix: str, ttl: float, size: int) -> Cache | None:
    """Redis for a `redis://` (or `rediss://`, `unix://`) URL, this process's memory for
    none, no cache for `off`."""
    if url == "off":
        return None
    if not url:
        return MemoryCache(size, ttl)
    return RedisCache(url, prefix, ttl)


class Shelf:
    """One kind of entry in a cache (`orders`, `products`): its keys, its values as JSON, and
    its hits and misses counted. A cache that fails is a miss, and an entry not kept; a
    failed invalidation is logged (the entry then lives out its TTL)."""

    def __init__(self, cache: Cache, name: str) -> None:
        self.cache = cache
        self.name = name
        self._hit = CACHE_REQUESTS.labels(name, "hit")
        self._miss = CACHE_REQUESTS.labels(name, "miss")

    async def get(self, key: str) -> tuple[Any, int | None]:
        """The value kept for `key` (None if none) and the ticket to fill it with."""
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: Sequence[str]) -> list[tuple[Any, int | None]]:
        try:
            found = await self.cache.lookup([f"{self.name}:{key}" for key in keys])
        except Exception as error:
            log.warning("cache lookup failed", cache=self.name, error=type(error).__name__)
            found = [Lookup(None, None)] * len(keys)
        answers: list[tuple[Any, int | None]] = []
        for one in found:
            if one.value is None:
                self._miss.inc()
                answers.append((None, one.ticket))
            else:
                self._hit.inc()
                answers.append((orjson.loads(one.value), one.ticket))
        return answers

    async def put(self, key: str, value: Any, ticket: int | None, version: int = 0) -> bool:
        if ticket is None:
            return False
        try:
            encoded = orjson.dumps(value, default=str)
            return await self.cache.fill(f"{self.name}:{key}", encoded, ticket, version)
        except Exception as error:
            log.warning("cache fill failed", cache=self.name, error=type(error).__name__)
            return False

    async def drop(self, key: str, floor: int = 0) -> None:
        try:
            await self.cache.invalidate(f"{self.name}:{key}", floor)
        except Exception as error:
            log.warning("cache invalidation failed", cache=self.name, error=type(error).__name__)
