"""The gateway: the one place that turns a bearer token into a `Principal`."""

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from orderly.entrypoints.dependencies import runtime
from orderly.kernel.errors import NotFound, Unauthorized
from orderly.kernel.principal import Principal

MAX_TOKEN = 4096


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise Unauthorized("this route needs a bearer token")
    run = await runtime(request)
    caller: Principal = await run.authenticator.authenticate(token)
    return replace(caller, token=token)


async def operator(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """Operators only; anyone else is told the thing does not exist."""
    if not caller.is_operator:
        raise NotFound("no such resource")
    return caller


Caller = Annotated[Principal, Depends(principal)]
Operator = Annotated[Principal, Depends(operator)]

__all__ = ["Caller", "Operator", "operator", "principal"]
