"""FastAPI dependencies that hand routes the runtime's ports."""

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from fastapi import Request

from orderly.storage import Database

if TYPE_CHECKING:
    from orderly.bootstrap import Runtime


def runtime(request: Request) -> "Runtime":
    return cast("Runtime", request.app.state.runtime)


def database(context: str) -> Callable[[Request], Database]:
    def dependency(request: Request) -> Database:
        return runtime(request).databases[context]

    return dependency
