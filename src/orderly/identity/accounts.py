"""B2B pharmacy accounts: opened with their admin, read by their members, and the claims
their users' tokens carry."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from orderly.identity import domain, store
from orderly.identity.messages import SOURCE, AccountCreated, Registration
from orderly.identity.passwords import Passwords
from orderly.identity.users import EmailTaken, user_created, user_view
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


@dataclass(frozen=True)
class NewAccount:
    """A B2B pharmacy account and its first user, the account admin."""

    account_id: str
    name: str
    segment: str
    dea_number: str
    dea_schedules: list[str]
    dea_expires_on: str
    state_licence: str
    id_340b: str | None
    can_order_schedule_ii: bool
    admin_email: str
    admin_password: str
    # where the registration is (a controlled order ships there only) and the state licence
    registered_address: dict[str, str] | None = None
    licence_state: str | None = None
    licence_expires_on: str | None = None

    def check(self) -> None:
        domain.check_account(
            self.account_id, self.dea_number, self.dea_schedules, self.dea_expires_on
        )
        domain.Segment(self.segment)
        if self.registered_address is not None:
            domain.check_registered_address(self.registered_address)
        if self.licence_state is not None:
            domain.check_state(self.licence_state)
        if self.licence_expires_on is not None:
            domain.check_date(self.licence_expires_on, "the state licence's expiry")


async def create_account(db: Database, passwords: Passwords, new: NewAccount) -> bool:
    """The account and its admin; False if the account already exists (nothing changes)."""
    new.check()
    email = domain.normalise_email(new.admin_email)
    domain.check_password(new.admin_password, email=email)
    password_hash = await passwords.hash(new.admin_password)
    user_id = new_id()

    async def work(tx: Tx) -> bool:
        now = utcnow()
        account = {
            "id": new.account_id,
            "name": new.name,
            "segment": new.segment,
            "dea_number": new.dea_number,
            "dea_schedules": new.dea_schedules,
            "dea_expires_on": new.dea_expires_on,
            "state_licence": new.state_licence,
            "id_340b": new.id_340b,
            "can_order_schedule_ii": new.can_order_schedule_ii,
            "at": now,
            "dea_active": True,
            "registered_address": new.registered_address,
            "licence_state": new.licence_state,
            "licence_expires_on": new.licence_expires_on,
        }
        if not await tx.execute(store.INSERT_ORGANISATION, account):
            return False
        admin = {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": "Account",
            "last_name": "Admin",
            "roles": [domain.Role.ACCOUNT_ADMIN.value, domain.Role.BUYER.value],
            "at": now,
        }
        if not await tx.execute(store.INSERT_USER, admin):
            raise EmailTaken("this e-mail is already registered")
        join = {"id": user_id, "organisation_id": new.account_id, "at": now}
        await tx.execute(store.JOIN_ORGANISATION, join)
        await user_created(tx, user_id, email, "Account", "Admin")
        opened = AccountCreated(
            account_id=new.account_id,
            name=new.name,
            segment=new.segment,
            id340b=new.id_340b,
            can_order_schedule_ii=new.can_order_schedule_ii,
            registration=registration_of(account),
        )
        await emit(tx, new_message(opened, source=SOURCE, aggregate_id=new.account_id))
        return True

    return await db.transaction(work)


async def account_claims(db: Database, organisation_id: str | None) -> dict[str, Any]:
    """Seed 000's account claims, read from the identity store when the token is issued."""
    if organisation_id is None:
        return {}
    org = await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": organisation_id}))
    if org is None:
        return {}
    return {
        "account": org["id"],
        "segment": org["segment"],
        "dea_active": dea_active_now(org),
        "340b": org["id_340b"] is not None,
        "can_order_schedule_II": bool(org["can_order_schedule_ii"]),
    }


async def membership(db: Database, caller: Principal, account_id: str) -> Row | None:
    """The caller's user row as the identity store has it now, if it belongs to the account
    (None for an operator, who may see any account).

    Token claims are hints: membership and roles are re-read here for every account action."""
    if caller.is_operator:
        return None
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": caller.user_id}))
    if row is None or row["disabled_at"] is not None or row["organisation_id"] != account_id:
        raise AccountNotFound(f"account {account_id} does not exist")
    return row


async def user_and_account(
    db: Database, caller: Principal
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The caller's own user and its account, as `get_user` and `get_account` show them, in
    one read: the account is the user's (or, for a user identity does not keep, the
    token's), and is None where `get_account` would not show it to the caller."""

    async def work(tx: Tx) -> tuple[Row | None, Row | None]:
        user = await tx.fetch_one(store.USER_BY_ID, {"id": caller.user_id})
        account_id = caller.account if user is None else user["organisation_id"]
        if account_id is None:
            return user, None
        member = (
            user is not None
            and user["disabled_at"] is None
            and user["organisation_id"] == account_id
        )
        if not (member or caller.is_operator):
            return user, None
        return user, await tx.fetch_one(store.ORGANISATION, {"id": account_id})

    user, org = await db.read(work)
    return (
        None if user is None else user_view(user),
        None if org is None else account_view(org),
    )


def dea_active_now(org: Row | dict[str, Any]) -> bool:
    """Not suspended, and not expired today."""
    return bool(org["dea_active"]) and domain.dea_active(org["dea_expires_on"], utcnow().date())


def registration_of(org: Row | dict[str, Any]) -> Registration:
    """The account's registration as `account.created` and `account.updated` carry it."""
    licence_expires = org["licence_expires_on"]
    return Registration(
        dea_number=org["dea_number"],
        dea_schedules=list(org["dea_schedules"]),
        dea_expires_on=date.fromisoformat(org["dea_expires_on"]),
        dea_active=bool(org["dea_active"]),
        registered_address=org["registered_address"],
        licence_state=org["licence_state"],
        licence_expires_on=date.fromisoformat(licence_expires) if licence_expires else None,
    )


def account_view(org: Row) -> dict[str, Any]:
    return {
        "accountId": org["id"],
        "name": org["name"],
        "segment": org["segment"],
        "deaNumber": org["dea_number"],
        "deaSchedules": org["dea_schedules"],
        "deaExpiresOn": org["dea_expires_on"],
        "deaActive": dea_active_now(org),
        "stateLicence": org["state_licence"],
        "id340b": org["id_340b"],
        "canOrderScheduleII": bool(org["can_order_schedule_ii"]),
        "registeredAddress": org["registered_address"],
        "licenceState": org["licence_state"],
        "licenceExpiresOn": org["licence_expires_on"],
        "csosCertificate": org["csos_certificate"],
        "approvalThreshold": money(org["approval_threshold_cents"]),
    }


async def get_account(db: Database, caller: Principal, account_id: str) -> dict[str, Any]:
    """Its members and operators see an account; to anyone else it does not exist."""
    await membership(db, caller, account_id)
    org = await db.read(lambda tx: tx.fetch_one(store.ORGANISATION, {"id": account_id}))
    if org is None:
        raise AccountNotFound(f"account {account_id} does not exist")
    return account_view(org)
