"""An account and its members, as the account's admins manage them."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orderly.identity import accounts, members, profiles, users
from orderly.identity.accounts import AccountNotFound
from orderly.identity.api.auth import RegisterIn
from orderly.identity.api.dependencies import Identity
from orderly.identity.api.users import UserOut
from orderly.identity.domain import InvalidAccount, InvalidCertificate, WeakPassword
from orderly.identity.members import LastAccountAdmin, NotAccountAdmin
from orderly.identity.passwords import passwords_for
from orderly.identity.users import EmailTaken, UserNotFound
from orderly.kernel.principal import Principal
from orderly.web.auth import Caller, operator_over, own_account
from orderly.web.dependencies import CurrentRuntime
from orderly.web.fields import PostalAddress, Price
from orderly.web.refusals import refuses

# Operators only: the account's members are told 403, to anyone else it does not exist.
AccountKeeper = Annotated[Principal, Depends(operator_over(own_account("account_id")))]


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
    registeredAddress: dict[str, str] | None  # noqa: N815
    licenceState: str | None  # noqa: N815
    licenceExpiresOn: str | None  # noqa: N815
    # PEM
    csosCertificate: str | None  # noqa: N815
    # orders above this total need an approver; null: none does
    approvalThreshold: str | None  # noqa: N815


DeaSchedule = Literal["2", "2N", "3", "3N", "4", "5"]
State = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class RegistrationIn(BaseModel):
    """The fields given change; the others stay. A null clears the address or the licence."""

    model_config = ConfigDict(extra="forbid")

    deaSchedules: list[DeaSchedule] | None = Field(default=None, max_length=6)  # noqa: N815
    deaExpiresOn: date | None = None  # noqa: N815
    deaActive: bool | None = None  # noqa: N815
    registeredAddress: PostalAddress | None = None  # noqa: N815
    licenceState: State | None = None  # noqa: N815
    licenceExpiresOn: date | None = None  # noqa: N815
    canOrderScheduleII: bool | None = None  # noqa: N815

    def changes(self) -> dict[str, Any]:
        """Column -> value, for the fields the body named."""
        columns = {
            "deaSchedules": "dea_schedules",
            "deaExpiresOn": "dea_expires_on",
            "deaActive": "dea_active",
            "registeredAddress": "registered_address",
            "licenceState": "licence_state",
            "licenceExpiresOn": "licence_expires_on",
            "canOrderScheduleII": "can_order_schedule_ii",
        }
        named = self.model_dump(include=self.model_fields_set, mode="json")
        return {columns[field]: value for field, value in named.items()}


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(min_length=1, max_length=16_384)


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Price | None


MemberRole = Literal["buyer", "approver", "account_admin"]


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[MemberRole] = Field(min_length=1, max_length=3)


class MemberIn(RegisterIn):
    roles: list[MemberRole] = Field(min_length=1, max_length=3)


router = APIRouter(tags=["identity"])


@router.get(
    "/api/v1/accounts/{account_id}",
    response_model=AccountOut,
    responses=refuses(AccountNotFound),
)
async def get_account(account_id: str, caller: Caller, db: Identity) -> dict[str, Any]:
    return await accounts.get_account(db, caller, account_id)


@router.get(
    "/api/v1/accounts/{account_id}/users",
    response_model=list[UserOut],
    responses=refuses(AccountNotFound),
)
async def list_members(account_id: str, caller: Caller, db: Identity) -> list[dict[str, Any]]:
    return await members.list_members(db, caller, account_id)


@router.post(
    "/api/v1/accounts/{account_id}/users",
    status_code=201,
    response_model=UserOut,
    responses=refuses(AccountNotFound, NotAccountAdmin, EmailTaken, WeakPassword),
)
async def add_member(
    account_id: str, body: MemberIn, caller: Caller, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    member = users.Registration(
        body.email, body.password, body.firstName, body.lastName, tuple(body.roles)
    )
    return await members.add_member(db, passwords_for(run.settings), caller, account_id, member)


@router.put(
    "/api/v1/accounts/{account_id}/users/{user_id}/roles",
    response_model=UserOut,
    responses=refuses(AccountNotFound, NotAccountAdmin, UserNotFound, LastAccountAdmin),
)
async def set_member_roles(
    account_id: str, user_id: str, body: RolesIn, caller: Caller, db: Identity
) -> dict[str, Any]:
    return await members.set_member_roles(db, caller, account_id, user_id, list(body.roles))


@router.patch(
    "/api/v1/accounts/{account_id}/registration",
    response_model=AccountOut,
    responses=refuses(AccountNotFound, InvalidAccount),
)
async def change_registration(
    account_id: str, body: RegistrationIn, _: AccountKeeper, db: Identity
) -> dict[str, Any]:
    """Operators: the account's DEA registration, registered address and state licence."""
    return await profiles.change_registration(db, account_id, body.changes())


@router.put(
    "/api/v1/accounts/{account_id}/csos-certificate",
    response_model=AccountOut,
    responses=refuses(AccountNotFound, NotAccountAdmin, InvalidCertificate),
)
async def set_csos_certificate(
    account_id: str, body: CertificateIn, caller: Caller, db: Identity
) -> dict[str, Any]:
    """The account's admins: the X.509 certificate (EC P-256) its CSOS orders are signed with."""
    return await profiles.set_csos_certificate(db, caller, account_id, body.certificate)


@router.put(
    "/api/v1/accounts/{account_id}/approval-threshold",
    response_model=AccountOut,
    responses=refuses(AccountNotFound, NotAccountAdmin),
)
async def set_approval_threshold(
    account_id: str, body: ThresholdIn, caller: Caller, db: Identity
) -> dict[str, Any]:
    """The account's admins: orders above this total wait for an approver (null: none do)."""
    return await profiles.set_approval_threshold(db, caller, account_id, body.amount)
