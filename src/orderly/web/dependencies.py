"""FastAPI dependencies that hand routes the runtime's ports."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, Request

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


# The runtime as a route's parameter. Typed loosely: FastAPI reads a parameter's annotation
# when the route is made, and the runtime's class lives above this layer.
CurrentRuntime = Annotated[Any, Depends(runtime)]
