"""The members of a B2B account and what each may do, kept by the account's admins."""

from collections.abc import Sequence
from typing import Any

from orderly.identity import domain, store
from orderly.identity.accounts import AccountNotFound, get_account, membership
from orderly.identity.passwords import Passwords
from orderly.identity.users import Registration, UserNotFound, register_user, user_view
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, OrderlyError
from orderly.kernel.principal import Principal
from orderly.storage import Database, Row, Tx


class NotAccountAdmin(OrderlyError):
    status = 403
    code = "not_account_admin"
    title = "Only the account's admins may do this"


class LastAccountAdmin(Conflict):
    code = "last_account_admin"
    title = "An account keeps at least one admin"


MEMBER_ROLES = frozenset({domain.Role.BUYER, domain.Role.APPROVER, domain.Role.ACCOUNT_ADMIN})


def _member_roles(roles: Sequence[str]) -> list[str]:
    """Sorted, without repeats; only roles a member of an account can have, at least one."""
    wanted = sorted(set(roles))
    if not wanted or not set(wanted) <= MEMBER_ROLES:
        allowed = ", ".join(sorted(MEMBER_ROLES))
        raise domain.InvalidAccount(f"a member's roles are one or more of: {allowed}")
    return wanted


async def list_members(db: Database, caller: Principal, account_id: str) -> list[dict[str, Any]]:
    await get_account(db, caller, account_id)
    rows = await db.read(
        lambda tx: tx.fetch_all(store.ORGANISATION_USERS, {"organisation_id": account_id})
    )
    return [user_view(row) for row in rows]


async def add_member(
    db: Database, passwords: Passwords, caller: Principal, account_id: str, new: Registration
) -> dict[str, Any]:
    """An account admin (or an operator) adds a buyer, an approver or another admin.

    The new member's first login asks it to set up its second factor."""
    me = await membership(db, caller, account_id)
    if me is not None and domain.Role.ACCOUNT_ADMIN not in me["roles"]:
        raise NotAccountAdmin("only an account admin adds users to the account")
    roles = _member_roles(new.roles)
    if await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": account_id})) is None:
        raise AccountNotFound(f"account {account_id} does not exist")
    member = Registration(
        new.email,
        new.password,
        new.first_name,
        new.last_name,
        tuple(roles),
        organisation_id=account_id,
    )
    user_id = await register_user(db, passwords, member)
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    assert row is not None
    return user_view(row)


async def set_member_roles(
    db: Database, caller: Principal, account_id: str, user_id: str, roles: list[str]
) -> dict[str, Any]:
    """An account admin (or an operator) changes what a member may do; takes effect at the
    member's next order, whatever its token says, since orders re-read it."""
    me = await membership(db, caller, account_id)
    if me is not None and domain.Role.ACCOUNT_ADMIN not in me["roles"]:
        raise NotAccountAdmin("only an account admin changes members' roles")
    wanted = _member_roles(roles)

    async def work(tx: Tx) -> Row:
        member = await tx.fetch_one(store.USER_BY_ID, {"id": user_id})
        if member is None or member["organisation_id"] != account_id:
            raise UserNotFound(f"user {user_id} is not a member of account {account_id}")
        if domain.Role.ACCOUNT_ADMIN in member["roles"] and domain.Role.ACCOUNT_ADMIN not in wanted:
            members = await tx.fetch_all(store.ORGANISATION_USERS, {"organisation_id": account_id})
            admins = [
                m
                for m in members
                if domain.Role.ACCOUNT_ADMIN in m["roles"] and m["disabled_at"] is None
            ]
            if len(admins) <= 1:
                raise LastAccountAdmin("the account would be left without an admin")
        params = {"id": user_id, "roles": wanted, "at": utcnow()}
        await tx.execute(store.SET_ROLES, params)
        updated = await tx.fetch_one(store.USER_BY_ID, {"id": user_id})
        assert updated is not None
        return updated

    return user_view(await db.transaction(work))
