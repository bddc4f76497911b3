"""What compliance and ordering need of an account, kept up to date: its registration (by
operators), its CSOS certificate and its order approval threshold (by its admins). Each
change is told whole in `account.updated`, in the transaction that makes it."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderly.identity import domain, store
from orderly.identity.accounts import AccountNotFound, account_view, membership, registration_of
from orderly.identity.members import NotAccountAdmin
from orderly.identity.messages import SOURCE, AccountUpdated
from orderly.kernel.money import from_cents, to_cents
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Statement, Tx

# The registration's columns an operator may change (`SET_REGISTRATION`'s parameters).
REGISTRATION = (
    "dea_schedules",
    "dea_expires_on",
    "dea_active",
    "registered_address",
    "licence_state",
    "licence_expires_on",
    "can_order_schedule_ii",
)


def check_registration(changes: Mapping[str, Any]) -> None:
    """The fields given are each valid; a null clears the address or the licence."""
    unknown = sorted(set(changes) - set(REGISTRATION))
    assert not unknown, unknown
    schedules = changes.get("dea_schedules")
    if schedules is not None:
        bad = sorted(set(schedules) - domain.DEA_SCHEDULES)
        if bad:
            raise domain.InvalidAccount(f"unknown DEA schedules: {', '.join(bad)}")
    if "dea_expires_on" in changes:
        if changes["dea_expires_on"] is None:
            raise domain.InvalidAccount("a DEA registration has an expiry")
        domain.check_date(changes["dea_expires_on"], "the DEA expiry")
    for required in ("dea_schedules", "dea_active", "can_order_schedule_ii"):
        if required in changes and changes[required] is None:
            raise domain.InvalidAccount(f"{required} may not be null")
    if changes.get("registered_address") is not None:
        domain.check_registered_address(changes["registered_address"])
    if changes.get("licence_state") is not None:
        domain.check_state(changes["licence_state"])
    if changes.get("licence_expires_on") is not None:
        domain.check_date(changes["licence_expires_on"], "the state licence's expiry")


async def change_registration(
    db: Database, account_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """An operator changes some of the registration (the fields named); the rest stays."""
    check_registration(changes)

    async def work(tx: Tx) -> Row:
        org = await _locked(tx, account_id)
        merged = {column: org[column] for column in REGISTRATION}
        merged.update(changes)
        merged["dea_schedules"] = sorted(set(merged["dea_schedules"]))
        await tx.execute(store.SET_REGISTRATION, {**merged, "id": account_id})
        return await _told(tx, account_id)

    return account_view(await db.transaction(work))


async def set_csos_certificate(
    db: Database, caller: Principal, account_id: str, pem: str
) -> dict[str, Any]:
    """The account's admin registers the certificate its CSOS orders are signed under."""
    await _admin(db, caller, account_id, "registers the account's CSOS certificate")
    certificate = domain.check_csos_certificate(pem)
    params = {"id": account_id, "csos_certificate": certificate}
    return await _set(db, account_id, store.SET_CSOS_CERTIFICATE, params)


async def set_approval_threshold(
    db: Database, caller: Principal, account_id: str, amount: Decimal | None
) -> dict[str, Any]:
    """The account's admin says from which order total an approver must approve (None: no
    order needs approval)."""
    await _admin(db, caller, account_id, "sets the account's approval threshold")
    cents = None if amount is None else to_cents(amount)
    params = {"id": account_id, "approval_threshold_cents": cents}
    return await _set(db, account_id, store.SET_APPROVAL_THRESHOLD, params)


async def _admin(db: Database, caller: Principal, account_id: str, does: str) -> None:
    """The account's admins (and operators) only; to others the account does not exist."""
    me = await membership(db, caller, account_id)
    if me is not None and domain.Role.ACCOUNT_ADMIN not in me["roles"]:
        raise NotAccountAdmin(f"only an account admin {does}")


async def _set(
    db: Database, account_id: str, statement: Statement, params: dict[str, Any]
) -> dict[str, Any]:
    async def work(tx: Tx) -> Row:
        await _locked(tx, account_id)
        await tx.execute(statement, params)
        return await _told(tx, account_id)

    return account_view(await db.transaction(work))


async def _locked(tx: Tx, account_id: str) -> Row:
    """The account's row, locked until the transaction ends (changes to it are serialised)."""
    if not await tx.execute(store.LOCK_ORGANISATION, {"id": account_id}):
        raise AccountNotFound(f"account {account_id} does not exist")
    org = await tx.fetch_one(store.ORGANISATION, {"id": account_id})
    assert org is not None
    return org


async def _told(tx: Tx, account_id: str) -> Row:
    """The account as it now is, and `account.updated` saying so."""
    org = await tx.fetch_one(store.ORGANISATION, {"id": account_id})
    assert org is not None
    cents = org["approval_threshold_cents"]
    updated = AccountUpdated(
        account_id=account_id,
        can_order_schedule_ii=bool(org["can_order_schedule_ii"]),
        registration=registration_of(org),
        csos_certificate=org["csos_certificate"],
        approval_threshold=None if cents is None else from_cents(int(cents)),
    )
    await emit(tx, new_message(updated, source=SOURCE, aggregate_id=account_id))
    return org
