"""A user's address book."""

from typing import Any

from orderly.identity import store
from orderly.identity.users import UserNotFound, own_user
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.storage import Database, Row, Tx


class AddressNotFound(NotFound):
    code = "address_not_found"
    title = "Address not found"


class TooManyAddresses(Conflict):
    code = "too_many_addresses"
    title = "Address book full"


MAX_ADDRESSES = 50


def _address_view(row: Row) -> dict[str, Any]:
    return {"addressId": row["id"], "label": row["label"], **row["address"]}


async def save_address(
    db: Database, principal: Principal, user_id: str, label: str, address: dict[str, Any]
) -> dict[str, Any]:
    own_user(principal, user_id)
    address_id = new_id()

    async def work(tx: Tx) -> Row:
        if await tx.fetch_one(store.USER_BY_ID, {"id": user_id}) is None:
            raise UserNotFound(f"user {user_id} does not exist")
        count = await tx.fetch_one(store.COUNT_ADDRESSES, {"user_id": user_id})
        if count is not None and int(count["n"]) >= MAX_ADDRESSES:
            raise TooManyAddresses(f"a user keeps at most {MAX_ADDRESSES} addresses")
        params = {"id": address_id, "user_id": user_id, "label": label, "address": address}
        await tx.execute(store.INSERT_ADDRESS, {**params, "at": utcnow()})
        row = await tx.fetch_one(store.USER_ADDRESS, {"user_id": user_id, "id": address_id})
        assert row is not None
        return row

    return _address_view(await db.transaction(work))


async def list_addresses(db: Database, principal: Principal, user_id: str) -> list[dict[str, Any]]:
    own_user(principal, user_id)
    rows = await db.read(lambda tx: tx.fetch_all(store.USER_ADDRESSES, {"user_id": user_id}))
    return [_address_view(row) for row in rows]


async def get_address(
    db: Database, principal: Principal, user_id: str, address_id: str
) -> dict[str, Any]:
    own_user(principal, user_id)
    params = {"user_id": user_id, "id": address_id}
    row = await db.read(lambda tx: tx.fetch_one(store.USER_ADDRESS, params))
    if row is None:
        raise AddressNotFound(f"address {address_id} does not exist")
    return _address_view(row)


async def delete_address(db: Database, principal: Principal, user_id: str, address_id: str) -> None:
    own_user(principal, user_id)
    params = {"user_id": user_id, "id": address_id}

    async def work(tx: Tx) -> int:
        return await tx.execute(store.DELETE_ADDRESS, params)

    if not await db.transaction(work):
        raise AddressNotFound(f"address {address_id} does not exist")
