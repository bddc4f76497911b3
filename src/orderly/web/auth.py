"""The gateway: the one place that turns a bearer token into a `Principal`."""

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Request

from orderly.kernel.errors import NotFound, OrderlyError, Unauthorized
from orderly.kernel.principal import Principal
from orderly.web.dependencies import runtime

MAX_TOKEN = 4096


class MfaEnrolmentRequired(OrderlyError):
    status = 403
    code = "mfa_enrolment_required"
    title = "Set up a second factor first"
    headers: ClassVar = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}


# Each dependency takes the request alone and calls the one before it directly: FastAPI
# resolves every node of a dependency tree on every request, at a cost per node that showed
# as the largest part of an authenticated request's time. The caller is kept in the request's
# scope, so the router's guard and a route's own dependency authenticate once between them.
_SCOPE_KEY = "orderly.principal"


async def any_principal(request: Request) -> Principal:
    """The caller, whatever its token allows; routes take `Caller` or `Enrolling` instead."""
    known: Principal | None = request.scope.get(_SCOPE_KEY)
    if known is not None:
        return known
    caller = await bearer(await runtime(request), request.headers.get("authorization", ""))
    request.scope[_SCOPE_KEY] = caller
    return caller


async def bearer(run: Any, header: str) -> Principal:
    """The caller an `Authorization` value (`Bearer <token>`) names, as the runtime's
    authenticator knows it (a WebSocket's first message carries one too)."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise Unauthorized("this route needs a bearer token")
    caller: Principal = replace(await run.authenticator.authenticate(token), token=token)
    return caller


def full_session(caller: Principal) -> Principal:
    """`caller`, unless its token is only good for setting up a second factor."""
    if caller.enrolment_only:
        raise MfaEnrolmentRequired(
            "this account must use a second factor: POST /api/v1/auth/mfa/enrol, then"
            " /api/v1/auth/mfa/activate"
        )
    return caller


async def principal(request: Request) -> Principal:
    """A caller with a full session: an enrolment-only token is refused here."""
    return full_session(await any_principal(request))


async def operator(request: Request) -> Principal:
    """Operators only; anyone else is told the thing does not exist."""
    caller = await principal(request)
    if not caller.is_operator:
        raise NotFound("no such resource")
    return caller


class OperatorOnly(OrderlyError):
    status = 403
    code = "operator_only"
    title = "Only operators may do this"


# Says whether the caller may see what the route acts on: returns if so, raises the
# thing's own 404 if not.
Visibility = Callable[[Request, Principal], Awaitable[None]]


class OperatorOver:
    """Operators only, acting on something others may see: a caller who can see it is
    told 403 `operator_only`; to one who cannot it does not exist (`visible`'s 404), so
    nobody learns of another customer's or account's things."""

    def __init__(self, visible: Visibility) -> None:
        self.visible = visible

    async def __call__(self, request: Request) -> Principal:
        caller = await principal(request)
        if not caller.is_operator:
            await self.visible(request, caller)
            raise OperatorOnly(f"only operators may {request.method} {request.url.path}")
        return caller


def operator_over(visible: Visibility) -> OperatorOver:
    return OperatorOver(visible)


async def anyone(request: Request, caller: Principal) -> None:
    """What every caller sees: the catalog, a product's stock and prices."""


def own_account(parameter: str) -> Visibility:
    """An account, seen by its members (a hint from the token suffices: nothing is granted
    by it, it only chooses between 403 and 404)."""

    async def visible(request: Request, caller: Principal) -> None:
        if caller.account is None or caller.account != request.path_params[parameter]:
            raise NotFound("no such resource")

    return visible


SERVICE_KEY_HEADER = "orderly-service-key"


async def service(request: Request) -> None:
    """A deployment's own services only (`ORDERLY_SERVICE_KEY`); to anyone else, and
    everywhere when no key is configured, the route does not exist."""
    expected = (await runtime(request)).settings.service_key
    shown = request.headers.get(SERVICE_KEY_HEADER, "")
    if not expected or not hmac.compare_digest(shown.encode(), expected.encode()):
        raise NotFound("no such resource")


Caller = Annotated[Principal, Depends(principal)]
# Also admits a token that only lets its holder set up MFA (and log out).
Enrolling = Annotated[Principal, Depends(any_principal)]
Operator = Annotated[Principal, Depends(operator)]
Service = Annotated[None, Depends(service)]

__all__ = [
    "SERVICE_KEY_HEADER",
    "Caller",
    "Enrolling",
    "Operator",
    "OperatorOnly",
    "OperatorOver",
    "Service",
    "any_principal",
    "anyone",
    "operator",
    "operator_over",
    "own_account",
    "principal",
    "service",
]
