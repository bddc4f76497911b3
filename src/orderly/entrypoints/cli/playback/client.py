"""The demo's HTTP client: Orderly's REST API as its users call it, with their tokens."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class DemoFailed(Exception):
    """A step did not go as its flow says: the table shows why."""


class Api:
    """One user's calls (or nobody's, to sign in)."""

    def __init__(self, base_url: str, token: str = "") -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)

    def as_user(self, token: str) -> "Api":
        return Api(self.base_url, token)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 202), **kwargs: Any
    ) -> Any:
        answer = await self.http.request(method, path, **kwargs)
        if answer.status_code not in expect:
            raise DemoFailed(f"{method} {path}: {answer.status_code} {_problem(answer)}")
        return answer.json() if answer.content else None

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return await self.call("POST", path, json=body, **kwargs)

    async def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return await self.call("PUT", path, json=body, **kwargs)


def _problem(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    return str(body.get("code") or body) if isinstance(body, dict) else str(body)[:200]


async def until(what: str, probe: Callable[[], Awaitable[T | None]], within: float = 60.0) -> T:
    """`probe`'s first answer that is something (not None, False or empty), asked until
    `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: not within {within:.0f} s")
        await asyncio.sleep(0.2)
