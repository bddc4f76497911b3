"""The gateway: the one place that turns a bearer token into a `Principal`."""

from typing import Annotated

from fastapi import Depends, Request

from orderly.entrypoints.dependencies import runtime
from orderly.identity.service import Principal, session_is_live
from orderly.identity.tokens import InvalidToken
from orderly.kernel.errors import Unauthorized


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this route needs a bearer token")
    run = await runtime(request)
    if run.tokens is None:
        raise Unauthorized("this process does not serve identity, so it cannot check tokens")
    claims = await run.tokens.verify(token.strip())
    # Claims are hints: the session and the account are re-read at every use.
    if not await session_is_live(run.databases["identity"], claims["sid"]):
        raise InvalidToken("the session has ended")
    return Principal(
        user_id=claims["sub"],
        session_id=claims["sid"],
        roles=tuple(claims.get("roles") or ()),
        account=claims.get("account"),
    )


Caller = Annotated[Principal, Depends(principal)]
