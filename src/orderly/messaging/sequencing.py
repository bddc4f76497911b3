"""Runs work for one key at a time, in arrival order, while different keys run concurrently."""

import asyncio
from collections.abc import Awaitable, Callable


class KeyedSequencer:
    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Future[None]] = {}

    async def run(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if previous is not None:
                await previous
            await work()
        finally:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]
