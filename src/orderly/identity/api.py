"""Identity REST routes: seed 002's auth endpoints, users, and the published signing keys."""

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderly.entrypoints.auth import Caller, Enrolling, operator_over
from orderly.entrypoints.dependencies import database, runtime
from orderly.entrypoints.fields import NOT_BLANK, Email
from orderly.entrypoints.openapi import refuses
from orderly.identity import (
    accounts,
    addresses,
    members,
    mfa,
    registration,
    sessions,
    signin,
    users,
)
from orderly.identity.accounts import AccountNotFound
from orderly.identity.addresses import AddressNotFound, TooManyAddresses
from orderly.identity.domain import MAX_PASSWORD, MIN_PASSWORD, WeakPassword
from orderly.identity.members import LastAccountAdmin, NotAccountAdmin
from orderly.identity.mfa import InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnrolled
from orderly.identity.passwords import passwords_for
from orderly.identity.registration import TooManyRegistrations
from orderly.identity.signin import InvalidCredentials
from orderly.identity.throttle import TooManyAttempts
from orderly.identity.users import EmailTaken, UserNotFound
from orderly.kernel.errors import OrderlyError
from orderly.kernel.principal import Principal
from orderly.storage import Database
from orderly.storage.database import StorageUnavailable

Identity = Annotated[Database, Depends(database("identity"))]


async def _sees_user(request: Request, caller: Principal) -> None:
    """A user sees itself."""
    user_id = request.path_params["user_id"]
    if caller.user_id != user_id:
        raise UserNotFound(f"user {user_id} does not exist")


# Operators only: a user is told 403 about itself, 404 about anyone else.
UserKeeper = Annotated[Principal, Depends(operator_over(_sees_user))]
Runtime = Annotated[Any, Depends(runtime)]


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


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=200)
    line1: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, pattern=NOT_BLANK, max_length=100)
    state: str = Field(default="", max_length=100)
    postal_code: str = Field(min_length=1, pattern=NOT_BLANK, max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")


class AddressOut(BaseModel):
    addressId: str  # noqa: N815
    label: str
    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str


class SessionOut(BaseModel):
    userId: str  # noqa: N815
    sessionId: str  # noqa: N815
    roles: list[str]
    account: str | None
    segment: str | None = None
    enrolmentOnly: bool  # noqa: N815
    expiresAt: int  # noqa: N815


class UserOut(BaseModel):
    userId: str  # noqa: N815
    email: str
    firstName: str  # noqa: N815
    lastName: str  # noqa: N815
    roles: list[str]
    organisationId: str | None  # noqa: N815
    disabled: bool


class AccountOut(BaseModel):
    accountId: str  # noqa: N815
    name: str
    segment: str
    deaNumber: str  # noqa: N815
    deaSchedules: list[str]  # noqa: N815
    deaExpiresOn: str  # noqa: N815
    deaActive: bool  # noqa: N815
    stateLicence: str  # noqa: N815
    id340b: str | None
    canOrderScheduleII: bool  # noqa: N815


MemberRole = Literal["buyer", "approver", "account_admin"]


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[MemberRole] = Field(min_length=1, max_length=3)


class MemberIn(RegisterIn):
    roles: list[MemberRole] = Field(min_length=1, max_length=3)


class ExternalSignIn(OrderlyError):
    status = 403
    code = "external_sign_in"
    title = "Sign in with the configured identity provider"


async def own_sign_in(run: Runtime) -> None:
    """Orderly's own sign-in, which an external issuer replaces."""
    if run.settings.external_issuer:
        raise ExternalSignIn(f"this deployment signs in at {run.settings.external_issuer}")


def _client(request: Request) -> str:
    """The caller's address as the audit keeps it: a trusted proxy forwards whatever its own
    client claimed, so no more than the 64 characters the column holds."""
    return request.client.host[:64] if request.client else ""


def router() -> APIRouter:
    api = APIRouter(tags=["identity"])

    local = [Depends(own_sign_in)]

    @api.post(
        "/api/v1/auth/register",
        status_code=202,
        response_model=Registered,
        dependencies=local,
        responses=refuses(ExternalSignIn, WeakPassword, TooManyRegistrations),
    )
    async def register(
        body: RegisterIn, request: Request, db: Identity, run: Runtime
    ) -> dict[str, Any]:
        new = users.Registration(body.email, body.password, body.firstName, body.lastName)
        limit = registration.RegistrationLimit(
            run.settings.registration_limit,
            timedelta(seconds=run.settings.registration_window),
        )
        client = request.client.host if request.client else ""
        return await registration.register(db, passwords_for(run.settings), new, client, limit)

    @api.post(
        "/api/v1/auth/login",
        response_model=Tokens | MfaRequired | MfaEnrolmentRequired,
        dependencies=local,
        responses=refuses(ExternalSignIn, InvalidCredentials, TooManyAttempts),
    )
    async def login(body: LoginIn, request: Request, db: Identity, run: Runtime) -> dict[str, Any]:
        return await signin.login(
            db, run.tokens, passwords_for(run.settings), body.email, body.password, _client(request)
        )

    @api.post(
        "/api/v1/auth/mfa/verify",
        response_model=Tokens,
        dependencies=local,
        responses=refuses(ExternalSignIn, InvalidCredentials, InvalidMfaCode, TooManyAttempts),
    )
    async def mfa_verify(
        body: MfaVerifyIn, request: Request, db: Identity, run: Runtime
    ) -> dict[str, Any]:
        return await signin.complete_mfa_login(
            db, run.tokens, body.mfaToken, body.code, _client(request)
        )

    @api.post(
        "/api/v1/auth/mfa/enrol",
        response_model=MfaEnrolment,
        dependencies=local,
        responses=refuses(ExternalSignIn, MfaAlreadyEnabled, UserNotFound),
    )
    async def mfa_enrol(caller: Enrolling, db: Identity) -> dict[str, Any]:
        user = await users.get_user(db, caller, caller.user_id)
        return await mfa.enrol(db, caller, user["email"])

    @api.post(
        "/api/v1/auth/mfa/activate",
        response_model=MfaActivated,
        response_model_exclude_none=True,
        dependencies=local,
        responses=refuses(
            ExternalSignIn, InvalidCredentials, InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnrolled
        ),
    )
    async def mfa_activate(
        body: MfaCodeIn, caller: Enrolling, db: Identity, run: Runtime
    ) -> dict[str, Any]:
        activated = await signin.activate_mfa(db, run.tokens, caller, body.code)
        if caller.enrolment_only:
            run.authenticator.forget(session_id=caller.session_id)
        return activated

    @api.post(
        "/api/v1/auth/refresh",
        response_model=Tokens,
        dependencies=local,
        responses=refuses(ExternalSignIn, sessions.InvalidRefreshToken),
    )
    async def refresh(body: RefreshIn, db: Identity, run: Runtime) -> dict[str, Any]:
        try:
            return await sessions.refresh(db, run.tokens, body.refreshToken)
        except sessions.RefreshTokenReused as reused:
            run.authenticator.forget(session_id=reused.session_id)
            raise

    @api.post("/api/v1/auth/logout", status_code=204)
    async def logout(caller: Enrolling, db: Identity, run: Runtime) -> Response:
        await sessions.logout(db, caller)
        run.authenticator.forget(session_id=caller.session_id)
        return Response(status_code=204)

    @api.get("/api/v1/auth/session", response_model=SessionOut)
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

    @api.get("/api/v1/users/{user_id}", response_model=UserOut, responses=refuses(UserNotFound))
    async def get_user(user_id: str, caller: Caller, db: Identity) -> dict[str, Any]:
        return await users.get_user(db, caller, user_id)

    @api.get(
        "/api/v1/users/{user_id}/addresses",
        response_model=list[AddressOut],
        responses=refuses(UserNotFound),
    )
    async def list_addresses(user_id: str, caller: Caller, db: Identity) -> list[dict[str, Any]]:
        return await addresses.list_addresses(db, caller, user_id)

    @api.post(
        "/api/v1/users/{user_id}/addresses",
        status_code=201,
        response_model=AddressOut,
        responses=refuses(UserNotFound, TooManyAddresses),
    )
    async def save_address(
        user_id: str, body: AddressIn, caller: Caller, db: Identity
    ) -> dict[str, Any]:
        address = body.model_dump(exclude={"label"})
        return await addresses.save_address(db, caller, user_id, body.label, address)

    @api.get(
        "/api/v1/users/{user_id}/addresses/{address_id}",
        response_model=AddressOut,
        responses=refuses(UserNotFound, AddressNotFound),
    )
    async def get_address(
        user_id: str, address_id: str, caller: Caller, db: Identity
    ) -> dict[str, Any]:
        return await addresses.get_address(db, caller, user_id, address_id)

    @api.delete(
        "/api/v1/users/{user_id}/addresses/{address_id}",
        status_code=204,
        responses=refuses(UserNotFound, AddressNotFound),
    )
    async def delete_address(
        user_id: str, address_id: str, caller: Caller, db: Identity
    ) -> Response:
        await addresses.delete_address(db, caller, user_id, address_id)
        return Response(status_code=204)

    @api.post(
        "/api/v1/users/{user_id}/disable", response_model=UserOut, responses=refuses(UserNotFound)
    )
    async def disable_user(
        user_id: str, caller: UserKeeper, db: Identity, run: Runtime
    ) -> dict[str, Any]:
        disabled = await users.disable_user(db, caller, user_id)
        run.authenticator.forget(user_id=user_id)
        return disabled

    @api.get(
        "/api/v1/accounts/{account_id}",
        response_model=AccountOut,
        responses=refuses(AccountNotFound),
    )
    async def get_account(account_id: str, caller: Caller, db: Identity) -> dict[str, Any]:
        return await accounts.get_account(db, caller, account_id)

    @api.get(
        "/api/v1/accounts/{account_id}/users",
        response_model=list[UserOut],
        responses=refuses(AccountNotFound),
    )
    async def list_members(account_id: str, caller: Caller, db: Identity) -> list[dict[str, Any]]:
        return await members.list_members(db, caller, account_id)

    @api.post(
        "/api/v1/accounts/{account_id}/users",
        status_code=201,
        response_model=UserOut,
        responses=refuses(AccountNotFound, NotAccountAdmin, EmailTaken, WeakPassword),
    )
    async def add_member(
        account_id: str, body: MemberIn, caller: Caller, db: Identity, run: Runtime
    ) -> dict[str, Any]:
        member = users.Registration(
            body.email, body.password, body.firstName, body.lastName, tuple(body.roles)
        )
        return await members.add_member(db, passwords_for(run.settings), caller, account_id, member)

    @api.put(
        "/api/v1/accounts/{account_id}/users/{user_id}/roles",
        response_model=UserOut,
        responses=refuses(AccountNotFound, NotAccountAdmin, UserNotFound, LastAccountAdmin),
    )
    async def set_member_roles(
        account_id: str, user_id: str, body: RolesIn, caller: Caller, db: Identity
    ) -> dict[str, Any]:
        return await members.set_member_roles(db, caller, account_id, user_id, list(body.roles))

    @api.get("/.well-known/jwks.json", tags=["health"], responses=refuses(StorageUnavailable))
    async def jwks(run: Runtime) -> dict[str, Any]:
        keys: dict[str, Any] = await run.tokens.keys.published()
        return keys

    @api.get("/.well-known/openid-configuration", tags=["health"])
    async def discovery(request: Request, run: Runtime) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "issuer": run.tokens.settings.issuer,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/api/v1/auth/login",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    return api
