"""Small asyncio helpers the background loops share."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or `seconds` have passed, whichever comes first.

    Built on `asyncio.timeout`: on Python 3.11 `asyncio.wait_for` can lose a cancellation
    that arrives just as the event is set, and a loop around it then never stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def every(seconds: float, job: Callable[[], Awaitable[object]], failed: str) -> None:
    """Run `job` every `seconds` for as long as the process runs. Background upkeep only: a
    round that fails is logged as `failed` (with the error's type, never its text, which may
    hold data) and the next round tries again."""
    while True:
        try:
            await job()
        except Exception as error:
            log.warning(failed, error=type(error).__name__)
        await asyncio.sleep(seconds)


async def drain(sweep: Callable[[], Awaitable[int]], batch: int) -> None:
    """Run `sweep` until it does less than a full `batch`."""
    while await sweep() >= batch:
        pass
