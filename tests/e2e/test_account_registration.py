"""An account's registration, CSOS certificate and approval threshold over HTTP: who may
change each, what the account view shows, and what is refused."""

import json
import random
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.certificates import certificate_pem
from tests.e2e.server import Server, embedded
from tests.e2e.test_accounts import PASSWORD, enrolled

ADDRESS = {
    "line1": "12 Market St",
    "city": "Harrisburg",
    "state": "PA",
    "postal_code": "17101",
    "country": "US",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("registration")) as running:
        yield running


def opened(server: Server, *registration: str) -> tuple[str, httpx.AsyncClient]:
    """A new account and a client of its (enrolled) admin."""
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    email = f"admin-{uuid.uuid4().hex[:8]}@pharmacy.example"
    server.create_account(account_id, email, PASSWORD, *registration)
    return account_id, server.client(enrolled(server, email)[0]["token"])


async def test_an_account_opened_with_its_registered_address_shows_it(server: Server) -> None:
    account_id, admin = opened(
        server,
        *("--registered-address", json.dumps(ADDRESS)),
        *("--licence-state", "PA", "--licence-expires", "2027-06-30"),
    )

    view = (await admin.get(f"/api/v1/accounts/{account_id}")).json()

    assert view["registeredAddress"] == ADDRESS
    assert (view["licenceState"], view["licenceExpiresOn"]) == ("PA", "2027-06-30")
    assert (view["csosCertificate"], view["approvalThreshold"]) == (None, None)
    refused = server.cli(
        *("accounts", "create", "--id", "PH-99999", "--name", "X", "--dea", "AP5836727"),
        *("--dea-expires", "2099-12-31", "--state-licence", "PA-1"),
        *("--admin-email", "x@pharmacy.example", "--admin-password", PASSWORD),
        *("--registered-address", "{not json"),
    )
    assert refused.returncode == 1
    assert "JSON" in refused.stderr


async def test_operators_change_the_registration(server: Server) -> None:
    account_id, admin = opened(server)
    operator = server.client(server.login())
    path = f"/api/v1/accounts/{account_id}/registration"

    changed = await operator.patch(
        path,
        json={
            "deaSchedules": ["3", "3N"],
            "registeredAddress": ADDRESS,
            "licenceState": "PA",
            "licenceExpiresOn": "2027-06-30",
            "canOrderScheduleII": False,
        },
    )

    assert changed.status_code == 200, changed.text
    view = (await admin.get(f"/api/v1/accounts/{account_id}")).json()
    assert view["deaSchedules"] == ["3", "3N"]
    assert view["registeredAddress"] == {**ADDRESS, "name": "", "line2": ""}
    assert (view["licenceState"], view["canOrderScheduleII"]) == ("PA", False)
    assert view["deaExpiresOn"] == "2099-12-31"  # not named: unchanged
    suspended = await operator.patch(path, json={"deaActive": False})
    assert suspended.json()["deaActive"] is False
    assert (await operator.patch(path, json={"deaActive": True})).json()["deaActive"] is True

    # bad fields are refused; its members are told it is for operators, others see nothing
    for body in ({"licenceState": "Pennsylvania"}, {"deaSchedules": ["1"]}, {"deaActive": None}):
        bad = await operator.patch(path, json=body)
        assert bad.status_code == 422, body
    told = await admin.patch(path, json={"deaActive": False})
    assert (told.status_code, told.json()["code"]) == (403, "operator_only")
    _, stranger = opened(server)
    hidden = await stranger.patch(path, json={"deaActive": False})
    assert hidden.status_code == 404
    missing = await operator.patch("/api/v1/accounts/PH-00000/registration", json={})
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")


async def test_the_admin_registers_a_csos_certificate(server: Server) -> None:
    account_id, admin = opened(server)
    path = f"/api/v1/accounts/{account_id}/csos-certificate"
    pem = certificate_pem()

    stored = await admin.put(path, json={"certificate": pem})

    assert stored.status_code == 200, stored.text
    assert stored.json()["csosCertificate"].strip() == pem.strip()
    for bad in (
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        certificate_pem(rsa_key=True),
    ):
        refused = await admin.put(path, json={"certificate": bad})
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_certificate")
    view = (await admin.get(f"/api/v1/accounts/{account_id}")).json()
    assert view["csosCertificate"].strip() == pem.strip()


async def test_the_admin_sets_the_approval_threshold(server: Server) -> None:
    account_id, admin = opened(server)
    path = f"/api/v1/accounts/{account_id}/approval-threshold"

    assert (await admin.put(path, json={"amount": "5000.00"})).json()["approvalThreshold"] == (
        "5000.00"
    )
    assert (await admin.get(f"/api/v1/accounts/{account_id}")).json()["approvalThreshold"] == (
        "5000.00"
    )
    assert (await admin.put(path, json={"amount": None})).json()["approvalThreshold"] is None
    for bad in ("-1", "1.001", "abc"):
        assert (await admin.put(path, json={"amount": bad})).status_code == 422, bad

    # a buyer of the account is not its admin; another account's admin does not see it
    added = await admin.post(
        f"/api/v1/accounts/{account_id}/users",
        json={
            "email": f"buyer-{uuid.uuid4().hex[:8]}@pharmacy.example",
            "password": PASSWORD,
            "firstName": "Bea",
            "lastName": "Buyer",
            "roles": ["buyer"],
        },
    )
    buyer = server.client(enrolled(server, added.json()["email"])[0]["token"])
    refused = await buyer.put(path, json={"amount": "1.00"})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_account_admin")
    _, stranger = opened(server)
    assert (await stranger.put(path, json={"amount": "1.00"})).status_code == 404
    assert (await admin.get(f"/api/v1/accounts/{account_id}")).json()["approvalThreshold"] is None
