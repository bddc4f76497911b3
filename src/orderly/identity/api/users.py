"""Users: one's own record and saved addresses; an operator disables a user."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from orderly.identity import addresses, users
from orderly.identity.addresses import AddressNotFound, TooManyAddresses
from orderly.identity.api.dependencies import Identity
from orderly.identity.users import UserNotFound
from orderly.kernel.principal import Principal
from orderly.web.auth import Caller, operator_over
from orderly.web.dependencies import CurrentRuntime
from orderly.web.fields import PostalAddress
from orderly.web.refusals import refuses


async def _sees_user(request: Request, caller: Principal) -> None:
    """A user sees itself."""
    user_id = request.path_params["user_id"]
    if caller.user_id != user_id:
        raise UserNotFound(f"user {user_id} does not exist")


# Operators only: a user is told 403 about itself, 404 about anyone else.
UserKeeper = Annotated[Principal, Depends(operator_over(_sees_user))]


class AddressIn(PostalAddress):
    label: str = Field(default="", max_length=100)


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


class UserOut(BaseModel):
    userId: str  # noqa: N815
    email: str
    firstName: str  # noqa: N815
    lastName: str  # noqa: N815
    roles: list[str]
    organisationId: str | None  # noqa: N815
    disabled: bool


router = APIRouter(tags=["identity"])


@router.get("/api/v1/users/{user_id}", response_model=UserOut, responses=refuses(UserNotFound))
async def get_user(user_id: str, caller: Caller, db: Identity) -> dict[str, Any]:
    return await users.get_user(db, caller, user_id)


@router.get(
    "/api/v1/users/{user_id}/addresses",
    response_model=list[AddressOut],
    responses=refuses(UserNotFound),
)
async def list_addresses(user_id: str, caller: Caller, db: Identity) -> list[dict[str, Any]]:
    return await addresses.list_addresses(db, caller, user_id)


@router.post(
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


@router.get(
    "/api/v1/users/{user_id}/addresses/{address_id}",
    response_model=AddressOut,
    responses=refuses(UserNotFound, AddressNotFound),
)
async def get_address(
    user_id: str, address_id: str, caller: Caller, db: Identity
) -> dict[str, Any]:
    return await addresses.get_address(db, caller, user_id, address_id)


@router.delete(
    "/api/v1/users/{user_id}/addresses/{address_id}",
    status_code=204,
    responses=refuses(UserNotFound, AddressNotFound),
)
async def delete_address(user_id: str, address_id: str, caller: Caller, db: Identity) -> Response:
    await addresses.delete_address(db, caller, user_id, address_id)
    return Response(status_code=204)


@router.post(
    "/api/v1/users/{user_id}/disable", response_model=UserOut, responses=refuses(UserNotFound)
)
async def disable_user(
    user_id: str, caller: UserKeeper, db: Identity, run: CurrentRuntime
) -> dict[str, Any]:
    disabled = await users.disable_user(db, caller, user_id)
    run.authenticator.forget(user_id=user_id)
    return disabled
