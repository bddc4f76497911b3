"""FastAPI dependencies that hand routes the runtime's ports."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from fastapi import Request

from orderly.storage import Database

if TYPE_CHECKING:
    from orderly.bootstrap import Runtime


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a
# thread pool, a hop per request that the hot path does not need.


async def runtime(request: Request) -> "Runtime":
    return cast("Runtime", request.app.state.runtime)


def database(context: str) -> Callable[[Request], Awaitable[Database]]:
    async def dependency(request: Request) -> Database:
        run: Runtime = request.app.state.runtime
        return run.databases[context]

    return dependency
