"""Waiting on a condition with a deadline, never for a fixed time."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 15.0) -> T:
    """Poll `check` until it returns something truthy; fail at the deadline.

    The first polls come quickly, then no more than ten a second: each poll is a request that a
    server, on a host whose cores the other tests share, spends CPU on."""
    deadline = time.monotonic() + within
    last: T | None = None
    pause = 0.02
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.1)
    raise AssertionError(f"condition not met within {within}s (last value: {last!r})")
