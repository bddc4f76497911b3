"""A small asyncio helper the background loops share."""

import asyncio
import contextlib


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or `seconds` have passed, whichever comes first.

    Built on `asyncio.timeout`: on Python 3.11 `asyncio.wait_for` can lose a cancellation
    that arrives just as the event is set, and a loop around it then never stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
