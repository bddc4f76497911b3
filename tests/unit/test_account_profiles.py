"""An account's registration, CSOS certificate and approval threshold: what identity keeps,
what it tells (`account.created`, `account.updated`, read from its outbox) and what ordering's
standing port reads of it. On a migrated SQLite database, no server."""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from orderly.identity import members, profiles
from orderly.identity.accounts import AccountNotFound, NewAccount, create_account
from orderly.identity.domain import InvalidAccount, InvalidCertificate
from orderly.identity.members import NotAccountAdmin
from orderly.identity.messages import AccountCreated, AccountUpdated
from orderly.identity.passwords import Passwords
from orderly.identity.users import Registration
from orderly.kernel.principal import Principal
from orderly.local import LocalStanding
from orderly.messaging import Envelope
from orderly.messaging.envelope import decode_envelope
from orderly.storage import Database, sql
from tests.bus import context_database
from tests.certificates import certificate_pem

OUTBOX = sql("SELECT envelope FROM outbox WHERE aggregate_id = :id ORDER BY id")
USER = sql("SELECT id FROM users WHERE email = :email")
OPERATOR = Principal(user_id="op", session_id="s", roles=("operator",))
ADDRESS = {
    "line1": "12 Market St",
    "city": "Harrisburg",
    "state": "PA",
    "postal_code": "17101",
    "country": "US",
}
PASSWORDS = Passwords(memory_kib=8192, passes=1)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    database = await context_database(Path(tmp_path_factory.mktemp("profiles")), "identity")
    try:
        yield database
    finally:
        await database.close()


_numbers = iter(range(10_000, 99_999, 7))


async def opened(db: Database, **registration: object) -> tuple[str, Principal]:
    """A new account; (its id, its admin as a caller)."""
    account_id = f"PH-{next(_numbers)}"
    email = f"admin-{account_id.lower()}@pharmacy.example"
    new = NewAccount(
        account_id=account_id,
        name=f"Pharmacy {account_id}",
        segment="independent",
        dea_number="AP5836727",
        dea_schedules=["3", "3N", "4", "5"],
        dea_expires_on="2099-12-31",
        state_licence="PA-RP-001234",
        id_340b=None,
        can_order_schedule_ii=False,
        admin_email=email,
        admin_password="pharmacy counter 24",
        **registration,  # type: ignore[arg-type]
    )
    assert await create_account(db, PASSWORDS, new)
    row = await db.read(lambda tx: tx.fetch_one(USER, {"email": email}))
    assert row is not None
    admin = Principal(
        user_id=row["id"], session_id="s", roles=("account_admin", "buyer"), account=account_id
    )
    return account_id, admin


async def told(db: Database, account_id: str, kind: str) -> list[Envelope]:
    rows = await db.read(lambda tx: tx.fetch_all(OUTBOX, {"id": account_id}))
    return [m for m in (decode_envelope(r["envelope"]) for r in rows) if m.type == kind]


async def test_account_created_carries_the_registration(db: Database) -> None:
    account_id, _ = await opened(
        db, registered_address=ADDRESS, licence_state="PA", licence_expires_on="2027-06-30"
    )

    [created] = await told(db, account_id, "account.created")
    registration = created.read(AccountCreated).registration
    assert registration is not None
    assert registration.dea_number == "AP5836727"
    assert registration.dea_schedules == ["3", "3N", "4", "5"]
    assert registration.dea_expires_on.isoformat() == "2099-12-31"
    assert registration.dea_active is True
    assert registration.registered_address == ADDRESS
    assert registration.licence_state == "PA"
    assert str(registration.licence_expires_on) == "2027-06-30"


@pytest.mark.parametrize(
    "registration",
    [
        {"registered_address": {**ADDRESS, "city": ""}},
        {"registered_address": {**ADDRESS, "postal_code": 17101}},
        {"registered_address": {**ADDRESS, "floor": "2"}},
        {"licence_state": "XX"},
        {"licence_expires_on": "30/06/2027"},
    ],
    ids=["address-without-city", "number-in-address", "unknown-field", "unknown-state", "bad-date"],
)
async def test_account_creation_refuses_a_bad_registration(
    db: Database, registration: dict[str, object]
) -> None:
    with pytest.raises(InvalidAccount):
        await opened(db, **registration)


async def test_an_operator_changes_the_registration_and_it_is_told_whole(db: Database) -> None:
    account_id, _ = await opened(db)

    view = await profiles.change_registration(
        db,
        account_id,
        {"dea_schedules": ["2", "2N", "2"], "registered_address": ADDRESS, "licence_state": "PA"},
    )

    # the fields named changed, the others stayed
    assert view["deaSchedules"] == ["2", "2N"]
    assert view["registeredAddress"] == ADDRESS
    assert (view["licenceState"], view["licenceExpiresOn"]) == ("PA", None)
    assert (view["deaExpiresOn"], view["deaActive"]) == ("2099-12-31", True)
    [updated] = await told(db, account_id, "account.updated")
    whole = updated.read(AccountUpdated)
    assert whole.registration.dea_schedules == ["2", "2N"]
    assert whole.registration.registered_address == ADDRESS
    assert whole.registration.dea_number == "AP5836727"
    assert (whole.csos_certificate, whole.approval_threshold) == (None, None)

    # a suspended registration is not active, though it has not expired
    view = await profiles.change_registration(db, account_id, {"dea_active": False})
    assert view["deaActive"] is False
    last = (await told(db, account_id, "account.updated"))[-1].read(AccountUpdated)
    assert last.registration.dea_active is False
    assert last.registration.licence_state == "PA"

    # a null clears the address; a DEA expiry may not be cleared
    view = await profiles.change_registration(db, account_id, {"registered_address": None})
    assert view["registeredAddress"] is None
    with pytest.raises(InvalidAccount):
        await profiles.change_registration(db, account_id, {"dea_expires_on": None})
    with pytest.raises(AccountNotFound):
        await profiles.change_registration(db, "PH-00000", {"dea_active": True})


async def test_the_admin_sets_the_csos_certificate_and_threshold(db: Database) -> None:
    account_id, admin = await opened(db)
    pem = certificate_pem()

    view = await profiles.set_csos_certificate(db, admin, account_id, pem)
    assert view["csosCertificate"].strip() == pem.strip()
    view = await profiles.set_approval_threshold(db, admin, account_id, Decimal("5000.00"))
    assert view["approvalThreshold"] == "5000.00"

    first, second = (u.read(AccountUpdated) for u in await told(db, account_id, "account.updated"))
    assert first.csos_certificate is not None
    assert first.approval_threshold is None
    assert second.csos_certificate == first.csos_certificate
    assert second.approval_threshold == Decimal("5000.00")

    # ordering's standing port reads the threshold as identity has it now
    standing = await LocalStanding(db).of(admin)
    assert standing.approval_threshold == Decimal("5000.00")
    await profiles.set_approval_threshold(db, OPERATOR, account_id, None)
    assert (await LocalStanding(db).of(admin)).approval_threshold is None


@pytest.mark.parametrize(
    "pem",
    ["not a certificate", certificate_pem(rsa_key=True)],
    ids=["not-pem", "rsa-key"],
)
async def test_a_certificate_that_is_not_ec_p256_is_refused(db: Database, pem: str) -> None:
    account_id, admin = await opened(db)
    with pytest.raises(InvalidCertificate):
        await profiles.set_csos_certificate(db, admin, account_id, pem)
    assert await told(db, account_id, "account.updated") == []


async def test_only_the_accounts_admins_set_its_certificate_and_threshold(db: Database) -> None:
    account_id, admin = await opened(db)
    _, other_admin = await opened(db)
    member = Registration(
        f"buyer-{account_id.lower()}@pharmacy.example",
        "pharmacy counter 24",
        "Bea",
        "Buyer",
        ("buyer",),
    )
    added = await members.add_member(db, PASSWORDS, admin, account_id, member)
    buyer = Principal(user_id=added["userId"], session_id="s", roles=("buyer",), account=account_id)

    with pytest.raises(NotAccountAdmin):
        await profiles.set_approval_threshold(db, buyer, account_id, Decimal(1))
    with pytest.raises(NotAccountAdmin):
        await profiles.set_csos_certificate(db, buyer, account_id, certificate_pem())
    with pytest.raises(AccountNotFound):  # another account's admin: no such account
        await profiles.set_approval_threshold(db, other_admin, account_id, Decimal(1))
    assert await told(db, account_id, "account.updated") == []
