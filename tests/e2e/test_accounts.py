"""B2B pharmacy accounts over HTTP: MFA before anything else, members, shared orders."""

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.server import Server, embedded, stocked
from tests.e2e.test_seed001_flow import ADDRESS
from tests.e2e.totp import Authenticator
from tests.services import unique

PASSWORD = "pharmacy counter 24"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("accounts")) as running:
        yield running


def new_account(server: Server) -> tuple[str, str]:
    """(account id, admin e-mail) of a new pharmacy account."""
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    email = f"admin-{uuid.uuid4().hex[:8]}@pharmacy.example"
    server.create_account(account_id, email, PASSWORD)
    return account_id, email


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(server: Server, email: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def enrolled(server: Server, email: str) -> tuple[dict[str, Any], Authenticator]:
    """First login of a B2B user: set up the second factor; (its full tokens, its app)."""
    restricted = login(server, email)["token"]
    enrolment = httpx.post(f"{server.url}/api/v1/auth/mfa/enrol", headers=bearer(restricted))
    assert enrolment.status_code == 200, enrolment.text
    app = Authenticator(enrolment.json()["secret"])
    activated = httpx.post(
        f"{server.url}/api/v1/auth/mfa/activate",
        json={"code": app.code()},
        headers=bearer(restricted),
    )
    assert activated.status_code == 200, activated.text
    return activated.json(), app


def test_a_b2b_user_sets_up_mfa_before_it_gets_a_real_session(server: Server) -> None:
    account_id, email = new_account(server)

    # the password alone gives a short token good for setting up MFA, and nothing else
    first = login(server, email)
    assert set(first) == {"mfaEnrolmentRequired", "token", "expiresIn"}
    assert first["mfaEnrolmentRequired"] is True
    assert 0 < first["expiresIn"] <= 900
    restricted = first["token"]
    user_id = jwt.decode(restricted, options={"verify_signature": False})["sub"]
    for method, path in (
        ("GET", "/api/v1/orders"),
        ("GET", f"/api/v1/users/{user_id}"),
        ("GET", f"/api/v1/accounts/{account_id}"),
    ):
        refused = httpx.request(method, server.url + path, headers=bearer(restricted))
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "mfa_enrolment_required"
    session = httpx.get(f"{server.url}/api/v1/auth/session", headers=bearer(restricted))
    assert session.json()["enrolmentOnly"] is True

    # enrolling and showing a code trades it for a full session with seed 000's claims
    enrolment = httpx.post(f"{server.url}/api/v1/auth/mfa/enrol", headers=bearer(restricted))
    assert enrolment.json()["provisioningUri"].startswith("otpauth://totp/Orderly:")
    app = Authenticator(enrolment.json()["secret"])
    activated = httpx.post(
        f"{server.url}/api/v1/auth/mfa/activate",
        json={"code": app.code()},
        headers=bearer(restricted),
    ).json()
    assert len(activated["recoveryCodes"]) == 10
    claims = jwt.decode(activated["token"], options={"verify_signature": False})
    assert {
        k: claims[k] for k in ("account", "segment", "dea_active", "340b", "can_order_schedule_II")
    } == {
        "account": account_id,
        "segment": "independent",
        "dea_active": True,
        "340b": False,
        "can_order_schedule_II": True,
    }
    assert sorted(claims["roles"]) == ["account_admin", "buyer"]
    full = bearer(activated["token"])
    assert httpx.get(f"{server.url}/api/v1/users/{user_id}", headers=full).status_code == 200
    refreshed = httpx.post(
        f"{server.url}/api/v1/auth/refresh", json={"refreshToken": activated["refreshToken"]}
    )
    assert refreshed.status_code == 200

    # the enrolment token is spent, and the factor cannot be swapped by whoever holds a session
    assert (
        httpx.get(f"{server.url}/api/v1/auth/session", headers=bearer(restricted)).status_code
        == 401
    )
    again = httpx.post(f"{server.url}/api/v1/auth/mfa/enrol", headers=full)
    assert again.status_code == 409
    assert again.json()["code"] == "mfa_already_enabled"

    # from now on the password opens a challenge
    challenge = login(server, email)
    assert set(challenge) == {"mfaRequired", "mfaToken"}
    verified = httpx.post(
        f"{server.url}/api/v1/auth/mfa/verify",
        json={"mfaToken": challenge["mfaToken"], "code": app.code()},
    )
    assert verified.status_code == 200
    assert jwt.decode(verified.json()["token"], options={"verify_signature": False})["account"] == (
        account_id
    )


def test_accounts_create_checks_the_dea_number_and_can_run_again(server: Server) -> None:
    account = [
        "accounts",
        "create",
        "--id",
        "PH-00001",
        "--name",
        "Main Street Pharmacy",
        "--dea",
        "AP5836727",
        "--dea-expires",
        "2099-12-31",
        "--dea-schedules",
        "2,2N,3,3N,4,5",
        "--state-licence",
        "PA-RP-001234",
        "--schedule-ii",
        "--admin-email",
        "admin@mainstreet.example",
        "--admin-password",
        "pharmacy counter 24",
    ]
    created = server.cli(*account)
    assert created.returncode == 0, created.stderr
    assert "created" in created.stdout
    assert "already exists" in server.cli(*account).stdout
    bad = server.cli(*[("AB4523767" if part == "AP5836727" else part) for part in account])
    assert bad.returncode == 1
    assert "not a valid DEA registration number" in bad.stderr


async def test_an_account_admin_adds_members_who_share_the_accounts_orders(server: Server) -> None:
    account_id, admin_email = new_account(server)
    _, other_email = new_account(server)
    admin = server.client(enrolled(server, admin_email)[0]["token"])
    outsider = server.register_customer()
    other_admin = enrolled(server, other_email)[0]["token"]

    async def add(client: httpx.AsyncClient, roles: list[str], account: str = account_id) -> Any:
        body = {
            "email": f"member-{uuid.uuid4().hex[:8]}@pharmacy.example",
            "password": PASSWORD,
            "firstName": "Pat",
            "lastName": "Member",
            "roles": roles,
        }
        return await client.post(f"/api/v1/accounts/{account}/users", json=body)

    buyer = await add(admin, ["buyer"])
    assert buyer.status_code == 201, buyer.text
    assert buyer.json()["organisationId"] == account_id
    assert buyer.json()["roles"] == ["buyer"]
    approver = await add(admin, ["approver"])
    assert approver.status_code == 201
    members = (await admin.get(f"/api/v1/accounts/{account_id}/users")).json()
    assert len(members) == 3
    assert (await admin.get(f"/api/v1/accounts/{account_id}")).json()["deaActive"] is True

    # only the account's admins add members, and only roles of an account
    assert (await add(admin, ["operator"])).status_code == 422
    assert (await add(admin, [])).status_code == 422
    duplicate = await admin.post(
        f"/api/v1/accounts/{account_id}/users",
        json={
            "email": buyer.json()["email"],
            "password": PASSWORD,
            "firstName": "A",
            "lastName": "B",
            "roles": ["buyer"],
        },
    )
    assert duplicate.status_code == 409
    for stranger in (server.client(outsider["token"]), server.client(other_admin)):
        assert (await add(stranger, ["buyer"])).status_code == 404
        assert (await stranger.get(f"/api/v1/accounts/{account_id}")).status_code == 404
        assert (await stranger.get(f"/api/v1/accounts/{account_id}/users")).status_code == 404
    buyer_tokens = enrolled(server, buyer.json()["email"])[0]
    as_buyer = server.client(buyer_tokens["token"])
    refused = await add(as_buyer, ["buyer"])
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_account_admin"
    assert len((await admin.get(f"/api/v1/accounts/{account_id}/users")).json()) == 3

    # the buyer's order is the account's: its admin and approver see it, nobody else does
    operator = server.client(server.login())
    product = await operator.post(
        "/api/v1/products", json={"name": "P", "sku": unique("B2B"), "price": "3.00", "stock": 5}
    )
    await stocked(operator, product.json()["id"], 5)
    placed = await as_buyer.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.json()["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
            "channel": "direct",  # accepted at once (b2b, an account's own, answers 202)
        },
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    as_approver = server.client(enrolled(server, approver.json()["email"])[0]["token"])
    for colleague in (admin, as_approver):
        assert (await colleague.get(f"/api/v1/orders/{order_id}")).status_code == 200
        assert order_id in (await colleague.get("/api/v1/orders")).text
    for stranger in (server.client(outsider["token"]), server.client(other_admin)):
        assert (await stranger.get(f"/api/v1/orders/{order_id}")).status_code == 404
        assert order_id not in (await stranger.get("/api/v1/orders")).text

    # the account's settings are for operators: its members are told so, to others the
    # account does not exist
    for path, body in (
        (f"/api/v1/prices/accounts/{account_id}/gpo", {"gpo": "MINE"}),
        (f"/api/v1/inventory/shelf-life/{account_id}", {"days": 1}),
    ):
        told = await admin.put(path, json=body)
        assert (told.status_code, told.json()["code"]) == (403, "operator_only"), path
        for stranger in (server.client(outsider["token"]), server.client(other_admin)):
            hidden = await stranger.put(path, json=body)
            assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found"), path


def test_the_demo_pharmacist_logs_in_with_a_code_from_the_cli(tmp_path: Path) -> None:
    with embedded(tmp_path) as server:
        loaded = server.cli("demo", "load")
        assert loaded.returncode == 0, loaded.stderr
        assert "pharmacist@orderly.example" in loaded.stdout
        challenge = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"email": "pharmacist@orderly.example", "password": "orderly-demo-2026"},
        ).json()
        assert challenge["mfaRequired"] is True
        printed = server.cli("demo", "mfa-code")
        assert printed.returncode == 0, printed.stderr
        code = printed.stdout.strip()
        assert len(code) == 6
        assert code.isdigit()
        verified = httpx.post(
            f"{server.url}/api/v1/auth/mfa/verify",
            json={"mfaToken": challenge["mfaToken"], "code": code},
        )
        assert verified.status_code == 200, verified.text
        claims = jwt.decode(verified.json()["token"], options={"verify_signature": False})
        assert claims["account"] == "PH-45678"
        # the demo pharmacy buys Loxapine at its contract's price, not the 61.20 WAC
        pharmacist = {"Authorization": f"Bearer {verified.json()['token']}"}
        [loxapine] = httpx.get(
            f"{server.url}/api/v1/products", params={"q": "0591-0369-01"}, headers=pharmacist
        ).json()
        quote = httpx.get(
            f"{server.url}/api/v1/prices", params={"product": loxapine["id"]}, headers=pharmacist
        ).json()
        assert (quote["price"], quote["source"]) == ("45.00", "contract")
        uri = server.cli("demo", "mfa-code", "--uri").stdout.strip()
        assert uri.startswith("otpauth://totp/Orderly:pharmacist%40orderly.example?secret=")


async def test_an_order_rereads_the_buyers_standing_not_its_token(deployment: Deployment) -> None:
    identity = deployment.identity
    account_id, admin_email = new_account(identity)
    admin = identity.client(enrolled(identity, admin_email)[0]["token"])
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
    assert added.status_code == 201, added.text
    buyer_id = added.json()["userId"]
    token = enrolled(identity, added.json()["email"])[0]["token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["buyer"]
    operator = deployment.catalog.client(deployment.operator_token)
    product = await operator.post(
        "/api/v1/products", json={"name": "P", "sku": unique("STD"), "price": "3.00", "stock": 9}
    )
    await stocked(deployment.inventory.client(deployment.operator_token), product.json()["id"], 9)
    order = {
        "items": [{"product_id": product.json()["id"], "quantity": 1}],
        "shipping_address": ADDRESS,
        "channel": "direct",
    }
    buyer = deployment.ordering.client(token)
    assert (await buyer.post("/api/v1/orders", json=order)).status_code == 201

    # the admin takes the buyer role away: the same token, still saying "buyer", cannot order
    roles = f"/api/v1/accounts/{account_id}/users/{buyer_id}/roles"
    changed = await admin.put(roles, json={"roles": ["approver"]})
    assert changed.status_code == 200
    assert changed.json()["roles"] == ["approver"]
    refused = await buyer.post("/api/v1/orders", json=order)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_a_buyer"
    assert len((await buyer.get("/api/v1/orders")).json()) == 1
    assert (await admin.put(roles, json={"roles": ["buyer"]})).status_code == 200
    assert (await buyer.post("/api/v1/orders", json=order)).status_code == 201

    # an account keeps an admin, and an admin changes only its own account's members
    members = (await admin.get(f"/api/v1/accounts/{account_id}/users")).json()
    admin_id = next(m["userId"] for m in members if m["email"] == admin_email)
    last = await admin.put(
        f"/api/v1/accounts/{account_id}/users/{admin_id}/roles", json={"roles": ["buyer"]}
    )
    assert last.status_code == 409
    assert last.json()["code"] == "last_account_admin"
    outsider = identity.register_customer()
    stranger = await admin.put(
        f"/api/v1/accounts/{account_id}/users/{outsider['userId']}/roles",
        json={"roles": ["buyer"]},
    )
    assert stranger.status_code == 404
    assert (await admin.put(roles, json={"roles": ["operator"]})).status_code == 422
