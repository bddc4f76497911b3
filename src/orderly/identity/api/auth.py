"""Signing in: registration, login, a second factor, refresh, logout and the session's owner
(seed 002's auth endpoints)."""

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderly.identity import mfa, registration, sessions, signin, users
from orderly.identity.api.dependencies import Identity
from orderly.identity.domain import MAX_PASSWORD, MIN_PASSWORD, WeakPassword
from orderly.identity.mfa import InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnrolled
from orderly.identity.passwords import passwords_for
from orderly.identity.registration import TooManyRegistrations
from orderly.identity.signin import InvalidCredentials
from orderly.identity.throttle import TooManyAttempts
from orderly.identity.users import UserNotFound
from orderly.kernel.errors import OrderlyError
from orderly.web.auth import Enrolling
from orderly.web.dependencies import CurrentRuntime
from orderly.web.fields import NOT_BLANK, Email
from orderly.web.refusals import refuses


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email = Field(max_length=320)
    # Kept exactly as given, blanks and all: login compares it unstripped. The policy's
    # minimum is stated in the document; `check_password` refuses with `weak_password`.
    password: Annotated[str, StringConstraints(strip_whitespace=False)] = Field(
        min_length=1, max_length=MAX_PASSWORD, json_schema_extra={"minLength": MIN_PASSWORD}
    )
    firstName: str = Field(min_length=1, pattern=NOT_BLANK, max_length=100)  # noqa: N815 - seed 002's field names
    lastName: str = Field(min_length=1, pattern=NOT_BLANK, max_length=100)  # noqa: N815


class Registered(BaseModel):
    """The same answer whether or not the e-mail had an account: the new user logs in next."""

    email: str
    status: Literal["accepted"]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class Tokens(BaseModel):
    token: str
    refreshToken: str  # noqa: N815
    expiresIn: int  # noqa: N815


class MfaRequired(BaseModel):
    mfaRequired: bool  # noqa: N815
    mfaToken: str  # noqa: N815


class MfaEnrolmentRequired(BaseModel):
    """A B2B user without a second factor: `token` only reaches the MFA enrolment routes."""

    mfaEnrolmentRequired: bool  # noqa: N815
    token: str
    expiresIn: int  # noqa: N815


class MfaVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mfaToken: str = Field(min_length=1, max_length=200)  # noqa: N815
    code: str = Field(min_length=1, max_length=32)


class MfaCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)


class MfaEnrolment(BaseModel):
    secret: str
    provisioningUri: str  # noqa: N815


class MfaActivated(BaseModel):
    enabled: bool
    recoveryCodes: list[str]  # noqa: N815
    # When the caller held an enrolment-only token: its full session, from now on.
    token: str | None = None
    refreshToken: str | None = None  # noqa: N815
    expiresIn: int | None = None  # noqa: N815


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refreshToken: str = Field(min_length=1, max_length=200)  # noqa: N815


class SessionOut(BaseModel):
    userId: str  # noqa: N815
    sessionId: str  # noqa: N815
    roles: list[str]
    account: str | None
    segment: str | None = None
    enrolmentOnly: bool  # noqa: N815
    expiresAt: int  # noqa: N815


class ExternalSignIn(OrderlyError):
    status = 403
    code = "external_sign_in"
    title = "Sign in with the configured identity provider"


async def own_sign_in(run: CurrentRuntime) -> None:
    """Orderly's own sign-in, which an external issuer replaces."""
    if run.settings.external_issuer:
        raise ExternalSignIn(f"this deployment signs in at {run.settings.external_issuer}")


def _client(request: Request) -> str:
    """The caller's address as the audit keeps it: a trusted proxy forwards whatever its own
    client claimed, so no more than the 64 characters the column holds."""
    return request.client.host[:64] if request.client else ""


# Orderly's own sign-in routes: refused where an external issuer signs callers in.
OWN_SIGN_IN = [Depends(own_sign_in)]

router = APIRouter(tags=["identity"])


@router.post(
    "/api/v1/auth/register",
    status_code=202,
    response_model=Registered,
    dependencies=OWN_SIGN_IN,
    responses=refuses(ExternalSignIn, WeakPassword, TooManyRegistrations),
)
async def register(
    body: RegisterIn, request: Request, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    new = users.Registration(body.email, body.password, body.firstName, body.lastName)
    limit = registration.RegistrationLimit(
        run.settings.registration_limit,
        timedelta(seconds=run.settings.registration_window),
    )
    client = request.client.host if request.client else ""
    return await registration.register(db, passwords_for(run.settings), new, client, limit)


@router.post(
    "/api/v1/auth/login",
    response_model=Tokens | MfaRequired | MfaEnrolmentRequired,
    dependencies=OWN_SIGN_IN,
    responses=refuses(ExternalSignIn, InvalidCredentials, TooManyAttempts),
)
async def login(
    body: LoginIn, request: Request, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    return await signin.login(
        db, run.tokens, passwords_for(run.settings), body.email, body.password, _client(request)
    )


@router.post(
    "/api/v1/auth/mfa/verify",
    response_model=Tokens,
    dependencies=OWN_SIGN_IN,
    responses=refuses(ExternalSignIn, InvalidCredentials, InvalidMfaCode, TooManyAttempts),
)
async def mfa_verify(
    body: MfaVerifyIn, request: Request, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    return await signin.complete_mfa_login(
        db, run.tokens, body.mfaToken, body.code, _client(request)
    )


@router.post(
    "/api/v1/auth/mfa/enrol",
    response_model=MfaEnrolment,
    dependencies=OWN_SIGN_IN,
    responses=refuses(ExternalSignIn, MfaAlreadyEnabled, UserNotFound),
)
async def mfa_enrol(caller: Enrolling, db: Identity) -> dict[str, Any]:
    user = await users.get_user(db, caller, caller.user_id)
    return await mfa.enrol(db, caller, user["email"])


@router.post(
    "/api/v1/auth/mfa/activate",
    response_model=MfaActivated,
    response_model_exclude_none=True,
    dependencies=OWN_SIGN_IN,
    responses=refuses(
        ExternalSignIn, InvalidCredentials, InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnrolled
    ),
)
async def mfa_activate(
    body: MfaCodeIn, caller: Enrolling, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    activated = await signin.activate_mfa(db, run.tokens, caller, body.code)
    if caller.enrolment_only:
        run.authenticator.forget(session_id=caller.session_id)
    return activated


@router.post(
    "/api/v1/auth/refresh",
    response_model=Tokens,
    dependencies=OWN_SIGN_IN,
    responses=refuses(ExternalSignIn, sessions.InvalidRefreshToken),
)
async def refresh(body: RefreshIn, db: Identity, run: CurrentRuntime) -> dict[str, Any]:
    try:
        return await sessions.refresh(db, run.tokens, body.refreshToken)
    except sessions.RefreshTokenReused as reused:
        run.authenticator.forget(session_id=reused.session_id)
        raise


@router.post("/api/v1/auth/logout", status_code=204)
async def logout(caller: Enrolling, db: Identity, run: CurrentRuntime) -> Response:
    await sessions.logout(db, caller)
    run.authenticator.forget(session_id=caller.session_id)
    return Response(status_code=204)


@router.get("/api/v1/auth/session", response_model=SessionOut)
async def session(caller: Enrolling) -> dict[str, Any]:
    """Who the bearer token speaks for: other services of a deployment ask this."""
    return {
        "userId": caller.user_id,
        "sessionId": caller.session_id,
        "roles": list(caller.roles),
        "account": caller.account,
        "segment": caller.segment,
        "enrolmentOnly": caller.enrolment_only,
        "expiresAt": caller.expires_at,
    }
