"""Background loops stop when cancelled, even if their wake-up comes at the same moment."""

import asyncio

import pytest

from orderly.kernel.aio import wait_or_timeout


async def test_a_cancellation_that_meets_a_wake_up_is_not_lost() -> None:
    event, waiting = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:  # as the relay and the retry worker do
            event.clear()
            waiting.set()  # nothing yields between this and waiting on the event
            await wait_or_timeout(event, 5)
            rounds += 1

    task = asyncio.create_task(loop())
    await waiting.wait()  # the loop is now waiting on the event
    event.set()
    task.cancel()  # in the same moment as the wake-up
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert task.cancelled()


async def test_it_returns_on_the_event_or_after_the_time() -> None:
    event = asyncio.Event()
    event.set()
    await wait_or_timeout(event, 5)
    await wait_or_timeout(asyncio.Event(), 0.01)
