"""The read cache's port, against both implementations: this process's memory, and Redis.

The race guard is shown with a reader held between its database read and its fill while a
writer commits and invalidates, interleaved by events, not by time."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from orderly.storage.cache import Cache, MemoryCache, RedisCache, Shelf
from tests.conftest import CI
from tests.waiting import eventually

REDIS_URL = os.environ.get("ORDERLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_up() and not CI, reason="Redis is not running")
KINDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=needs_redis),
]


def make(kind: str, *, size: int = 100, ttl: float = 60.0, prefix: str = "") -> Cache:
    if kind == "memory":
        return MemoryCache(size, ttl)
    return RedisCache(REDIS_URL, prefix or f"test-{uuid.uuid4().hex}", ttl)


@pytest.fixture(params=KINDS)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    made = make(request.param)
    try:
        yield made
    finally:
        await made.close()


async def one(cache: Cache, key: str) -> tuple[bytes | None, int | None]:
    (found,) = await cache.lookup([key])
    return found.value, found.ticket


async def test_a_filled_key_is_found_and_others_are_not(cache: Cache) -> None:
    value, ticket = await one(cache, "a")
    assert value is None
    assert ticket is not None
    assert await cache.fill("a", b"1", ticket)
    assert await one(cache, "a") == (b"1", ticket)
    found = await cache.lookup(["a", "b", "a"])
    assert [f.value for f in found] == [b"1", None, b"1"]


async def test_an_invalidated_key_is_gone_and_fills_again_with_a_new_ticket(cache: Cache) -> None:
    _, ticket = await one(cache, "a")
    assert ticket is not None
    await cache.fill("a", b"old", ticket)
    await cache.invalidate("a")
    value, fresh = await one(cache, "a")
    assert value is None
    assert fresh is not None
    assert fresh != ticket
    assert await cache.fill("a", b"new", fresh)
    assert (await one(cache, "a"))[0] == b"new"


async def test_a_reader_that_read_before_a_write_cannot_fill_after_its_invalidation(
    cache: Cache,
) -> None:
    # given a row, a reader that looks it up and reads it, then is held before it fills
    database = {"a": b"v1"}
    read, go_on = asyncio.Event(), asyncio.Event()

    async def slow_reader() -> bool:
        value, ticket = await one(cache, "a")
        assert value is None
        assert ticket is not None
        row = database["a"]
        read.set()
        await go_on.wait()
        return await cache.fill("a", row, ticket)

    reader = asyncio.create_task(slow_reader())
    await read.wait()

    # when a writer commits a change and invalidates the key, and only then the reader fills
    database["a"] = b"v2"
    await cache.invalidate("a")
    go_on.set()

    # then the reader's older value is refused, and the next reader fills the new one
    assert await reader is False
    value, ticket = await one(cache, "a")
    assert value is None
    assert ticket is not None
    assert await cache.fill("a", database["a"], ticket)
    assert (await one(cache, "a"))[0] == b"v2"


async def test_a_reader_that_looked_up_after_the_invalidation_fills(cache: Cache) -> None:
    await cache.invalidate("a")
    _, ticket = await one(cache, "a")
    assert ticket is not None
    assert await cache.fill("a", b"v2", ticket)


async def test_an_invalidation_of_another_key_does_not_refuse_a_fill(cache: Cache) -> None:
    _, ticket = await one(cache, "a")
    assert ticket is not None
    await cache.invalidate("b")
    assert await cache.fill("a", b"1", ticket)


async def test_a_floor_refuses_older_versions_whatever_the_ticket(cache: Cache) -> None:
    # a change invalidated before its commit: the row read meanwhile (version 10) is older
    await cache.invalidate("a", floor=11)
    _, ticket = await one(cache, "a")
    assert ticket is not None
    assert not await cache.fill("a", b"old", ticket, version=10)
    assert (await one(cache, "a"))[0] is None
    # the committed row (version 11 or later) fills
    assert await cache.fill("a", b"new", ticket, version=11)
    # a later invalidation without a floor keeps the higher one
    await cache.invalidate("a")
    _, later = await one(cache, "a")
    assert later is not None
    assert not await cache.fill("a", b"old", later, version=10)
    assert await cache.fill("a", b"new", later, version=12)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_entry_lives_its_ttl_at_most(kind: str) -> None:
    cache = make(kind, ttl=0.05)
    try:
        _, ticket = await one(cache, "a")
        assert ticket is not None
        assert await cache.fill("a", b"1", ticket)

        async def gone() -> bool:
            return (await one(cache, "a"))[0] is None

        await eventually(gone, within=5)
    finally:
        await cache.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_shelves_keep_their_own_keys_and_count_hits_and_misses(kind: str) -> None:
    cache = make(kind)
    name = f"things{uuid.uuid4().hex[:8]}"
    shelf, other = Shelf(cache, name), Shelf(cache, f"{name}x")

    def counted(outcome: str) -> float:
        labels = {"cache": name, "outcome": outcome}
        return REGISTRY.get_sample_value("orderly_cache_requests_total", labels) or 0.0

    try:
        found, ticket = await shelf.get("1")
        assert found is None
        assert await shelf.put("1", {"at": "x", "n": [1, 2]}, ticket)
        assert await shelf.get("1") == ({"at": "x", "n": [1, 2]}, ticket)
        assert (await other.get("1"))[0] is None
        assert (counted("hit"), counted("miss")) == (1.0, 1.0)
        await shelf.drop("1")
        assert (await shelf.get("1"))[0] is None
        assert counted("miss") == 2.0
    finally:
        await cache.close()


@needs_redis
async def test_deployments_with_other_prefixes_never_see_each_others_entries() -> None:
    first, second = make("redis"), make("redis")
    try:
        (found,) = await first.lookup(["a"])
        assert found.ticket is not None
        assert await first.fill("a", b"first's", found.ticket)
        assert (await one(second, "a"))[0] is None
        await second.invalidate("a")
        assert (await one(first, "a"))[0] == b"first's"
    finally:
        await first.close()
        await second.close()


@needs_redis
async def test_two_clients_of_one_redis_share_entries_and_invalidations() -> None:
    # two processes' caches: one fills, the other sees it, and its invalidation is both's
    prefix = f"test-{uuid.uuid4().hex}"
    first, second = make("redis", prefix=prefix), make("redis", prefix=prefix)
    try:
        _, ticket = await one(first, "a")
        assert ticket is not None
        assert await first.fill("a", b"1", ticket)
        assert (await one(second, "a"))[0] == b"1"
        await second.invalidate("a")
        assert (await one(first, "a"))[0] is None
        assert not await first.fill("a", b"1", ticket)
    finally:
        await first.close()
        await second.close()


async def test_memory_keeps_the_most_recently_used_entries() -> None:
    cache = MemoryCache(2, 60.0)
    ticket = (await cache.lookup(["a"]))[0].ticket
    assert ticket is not None
    for key in ("a", "b"):
        await cache.fill(key, key.encode(), ticket)
    await cache.lookup(["a"])  # used: b is now the least recently used
    await cache.fill("c", b"c", ticket)
    assert [f.value for f in await cache.lookup(["a", "b", "c"])] == [b"a", None, b"c"]


async def test_memory_refuses_a_fill_older_than_an_invalidation_it_no_longer_remembers() -> None:
    # it remembers one invalidated key: a's is forgotten once b is invalidated
    cache = MemoryCache(1, 60.0)
    (found,) = await cache.lookup(["a"])
    assert found.ticket is not None
    await cache.invalidate("a")
    await cache.invalidate("b")
    assert not await cache.fill("a", b"old", found.ticket)
    (fresh,) = await cache.lookup(["a"])
    assert fresh.ticket is not None
    assert await cache.fill("a", b"new", fresh.ticket)


async def test_a_cache_that_cannot_be_reached_is_a_miss_and_keeps_nothing() -> None:
    # nothing listens on port 1
    shelf = Shelf(RedisCache("redis://127.0.0.1:1/0", "nowhere", 60.0), "orders")
    try:
        assert await shelf.get("1") == (None, None)
        assert not await shelf.put("1", {"a": 1}, None)
        await shelf.drop("1")  # logged, not raised
    finally:
        await shelf.cache.close()
