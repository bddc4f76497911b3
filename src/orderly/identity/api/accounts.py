"""An account and its members, as the account's admins manage them."""

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from orderly.identity import accounts, members, users
from orderly.identity.accounts import AccountNotFound
from orderly.identity.api.auth import RegisterIn
from orderly.identity.api.dependencies import Identity
from orderly.identity.api.users import UserOut
from orderly.identity.domain import WeakPassword
from orderly.identity.members import LastAccountAdmin, NotAccountAdmin
from orderly.identity.passwords import passwords_for
from orderly.identity.users import EmailTaken, UserNotFound
from orderly.web.auth import Caller
from orderly.web.dependencies import CurrentRuntime
from orderly.web.refusals import refuses


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
