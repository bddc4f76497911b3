"""Identity over HTTP: register, log in, refresh, log out, and a corpus of forged tokens."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.server import Server, embedded

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("identity")) as running:
        yield running


def register(server: Server, password: str = PASSWORD) -> dict[str, Any]:
    """A new user, registered then logged in: {userId, email, token}."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": password, "firstName": "Ada", "lastName": "Lovelace"}
    response = httpx.post(f"{server.url}/api/v1/auth/register", json=body)
    assert response.status_code == 202, response.text
    token = server.login(email, password)
    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    return {"userId": user_id, "email": email, "token": token}


def login(server: Server, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": password}
    )


def me(server: Server, user_id: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/users/{user_id}", headers={"Authorization": f"Bearer {token}"}
    )


def test_register_then_login_then_the_token_works(server: Server) -> None:
    email = f"User-{uuid.uuid4().hex[:10]}@Example.com"
    body = {"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}
    answer = httpx.post(f"{server.url}/api/v1/auth/register", json=body)
    assert answer.status_code == 202
    assert answer.json() == {"email": email.lower(), "status": "accepted"}
    registered = register(server)
    assert (
        me(server, registered["userId"], registered["token"]).json()["email"] == registered["email"]
    )
    logged_in = login(server, registered["email"])
    assert logged_in.status_code == 200
    tokens = logged_in.json()
    assert set(tokens) == {"token", "refreshToken", "expiresIn"}
    assert tokens["expiresIn"] == 900
    profile = me(server, registered["userId"], tokens["token"]).json()
    assert (profile["firstName"], profile["lastName"], profile["roles"]) == (
        "Ada",
        "Lovelace",
        ["customer"],
    )
    operator = {"Authorization": f"Bearer {server.login()}"}
    outbox = httpx.get(f"{server.url}/api/v1/admin/outbox", headers=operator).json()
    outbox = {row["context"]: row for row in outbox}
    assert outbox["identity"]["pending"] + outbox["identity"]["published"] >= 1


def test_login_does_not_reveal_whether_an_email_exists(server: Server) -> None:
    registered = register(server)
    wrong_password = login(server, registered["email"], "not the password at all")
    unknown_email = login(
        server, f"nobody-{uuid.uuid4().hex}@example.com", "not the password at all"
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["code"] == "invalid_credentials"


def test_login_takes_about_as_long_for_an_unknown_email(tmp_path: Path) -> None:
    """A wrong password costs an argon2 verify; an unknown e-mail must cost one too.

    Compared with each other in the same run, interleaved, on a server of its own (so the
    per-address throttle is not reached) hashing at the production cost, so that the verify,
    not the noise of a busy machine, is most of each answer; skipping it would make the
    unknown e-mail answer many times faster."""
    rounds = 9
    production_cost = {"ORDERLY_PASSWORD_HASH_MEMORY": "65536", "ORDERLY_PASSWORD_HASH_PASSES": "3"}
    with embedded(tmp_path, **production_cost) as own:
        emails = [register(own)["email"] for _ in range(rounds)]
        with httpx.Client(base_url=own.url) as client:
            known: list[float] = []
            unknown: list[float] = []
            for email in emails:
                for sample, who in ((known, email), (unknown, f"x{uuid.uuid4().hex}@example.com")):
                    started = time.perf_counter()
                    answer = client.post(
                        "/api/v1/auth/login", json={"email": who, "password": "wrong password 9"}
                    )
                    sample.append(time.perf_counter() - started)
                    assert answer.status_code == 401
    ratio = sorted(unknown)[rounds // 2] / sorted(known)[rounds // 2]
    assert 0.5 < ratio < 2.0, f"median unknown/known login time {ratio:.2f}"


def test_a_password_over_72_bytes_works_and_weak_ones_are_refused(server: Server) -> None:
    long_password = "ñandú-" * 20  # 160 bytes in UTF-8, past bcrypt's 72
    registered = register(server, long_password)
    assert login(server, registered["email"], long_password).status_code == 200
    assert login(server, registered["email"], long_password[:-1]).status_code == 401
    for weak in ["short", "qwertyuiop", "aaaaaaaaaaaaaaaa"]:
        body = {
            "email": f"w{uuid.uuid4().hex[:8]}@example.com",
            "password": weak,
            "firstName": "W",
            "lastName": "K",
        }
        response = httpx.post(f"{server.url}/api/v1/auth/register", json=body)
        assert response.status_code == 422
        assert response.json()["code"] == "weak_password"


def test_an_email_registers_once(server: Server) -> None:
    registered = register(server)
    body = {
        "email": registered["email"].upper(),
        "password": "another password 2",
        "firstName": "A",
        "lastName": "B",
    }
    response = httpx.post(f"{server.url}/api/v1/auth/register", json=body)
    # answered like a new registration (test_throttling), and nothing changes
    assert response.status_code == 202
    assert login(server, registered["email"], "another password 2").status_code == 401
    assert login(server, registered["email"]).status_code == 200


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_session(server: Server) -> None:
    registered = register(server)
    first = login(server, registered["email"]).json()
    second = httpx.post(
        f"{server.url}/api/v1/auth/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    assert me(server, registered["userId"], rotated["token"]).status_code == 200
    # replaying the first refresh token is theft or a bug: the whole session ends
    replay = httpx.post(
        f"{server.url}/api/v1/auth/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_refresh_token"
    after = httpx.post(
        f"{server.url}/api/v1/auth/refresh", json={"refreshToken": rotated["refreshToken"]}
    )
    assert after.status_code == 401
    assert me(server, registered["userId"], rotated["token"]).status_code == 401


def test_after_logout_the_token_stops_working(server: Server) -> None:
    registered = register(server)
    tokens = login(server, registered["email"]).json()
    bearer = {"Authorization": f"Bearer {tokens['token']}"}
    assert httpx.post(f"{server.url}/api/v1/auth/logout", headers=bearer).status_code == 204
    assert me(server, registered["userId"], tokens["token"]).status_code == 401
    refresh = httpx.post(
        f"{server.url}/api/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert refresh.status_code == 401
    # another session of the same user is untouched
    assert me(server, registered["userId"], registered["token"]).status_code == 200


def test_a_user_cannot_read_another_user(server: Server) -> None:
    alice, bob = register(server), register(server)
    response = me(server, bob["userId"], alice["token"])
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


def test_jwks_verifies_issued_tokens(server: Server) -> None:
    registered = register(server)
    keys = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(registered["token"])["kid"]
    [jwk] = [key for key in keys if key["kid"] == kid]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in jwk  # never the private part
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(registered["token"], public, algorithms=["ES256"], audience="orderly-api")
    assert claims["sub"] == registered["userId"]
    discovery = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert discovery["jwks_uri"].endswith("/.well-known/jwks.json")


# -- forged tokens ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


@pytest.fixture(scope="module")
def signer(server: Server) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """The server's own signing key, read from its database, to forge well-signed bad tokens."""
    path = Path(server.env["ORDERLY_DATABASE_URL"].removeprefix("sqlite:///")) / "identity.db"
    register(server)  # make sure a key exists
    with sqlite3.connect(path) as conn:
        kid, pem = conn.execute("SELECT kid, private_pem FROM signing_keys").fetchone()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return kid, key


def _claims(registered: dict[str, Any], **changes: Any) -> dict[str, Any]:
    real = jwt.decode(registered["token"], options={"verify_signature": False})
    return {**real, **changes}


Forgery = Callable[[dict[str, Any], tuple[str, ec.EllipticCurvePrivateKey]], str]


def _signed(changes: dict[str, Any], drop: tuple[str, ...] = ()) -> Forgery:
    def forge(registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]) -> str:
        kid, key = signer
        claims = {k: v for k, v in _claims(registered, **changes).items() if k not in drop}
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})

    return forge


def _unknown_key(registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]) -> str:
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(_claims(registered), stranger, algorithm="ES256", headers={"kid": signer[0]})


def _alg_none(registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": signer[0]}, _claims(registered)) + "."


def _hs256_with_public_key(
    registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]
) -> str:
    public_pem = (
        signer[1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    head = _unsigned({"alg": "HS256", "typ": "JWT", "kid": signer[0]}, _claims(registered))
    signature = hmac.new(public_pem, head.encode(), hashlib.sha256).digest()
    return f"{head}.{_b64(signature)}"


def _kid(value: str) -> Forgery:
    def forge(registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]) -> str:
        return jwt.encode(_claims(registered), signer[1], algorithm="ES256", headers={"kid": value})

    return forge


def _foreign_jku(registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]) -> str:
    attacker = ec.generate_private_key(ec.SECP256R1())
    headers = {
        "kid": "attacker",
        "jku": "http://127.0.0.1:9/jwks.json",
        "x5u": "http://127.0.0.1:9/cert",
    }
    return jwt.encode(_claims(registered), attacker, algorithm="ES256", headers=headers)


def _refresh_as_access(
    registered: dict[str, Any], signer: tuple[str, ec.EllipticCurvePrivateKey]
) -> str:
    return str(registered["refreshToken"])


FORGERIES: dict[str, Forgery] = {
    "expired": _signed({"exp": int(time.time()) - 60, "iat": int(time.time()) - 1000}),
    "future-nbf": _signed({"nbf": int(time.time()) + 3600}),
    "unknown-key": _unknown_key,
    "alg-none": _alg_none,
    "hs256-with-public-key": _hs256_with_public_key,
    "kid-path": _kid("../../../../etc/passwd"),
    "kid-sql": _kid("' OR '1'='1' --"),
    "jku-and-x5u-elsewhere": _foreign_jku,
    "wrong-audience": _signed({"aud": "someone-else"}),
    "wrong-issuer": _signed({"iss": "https://evil.example"}),
    "not-an-access-token": _signed({"typ": "refresh"}),
    "no-session": _signed({}, drop=("sid",)),
    "refresh-token-as-access-token": _refresh_as_access,
}


@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
def test_forged_tokens_get_401(
    server: Server, signer: tuple[str, ec.EllipticCurvePrivateKey], forgery: str
) -> None:
    registered = register(server)
    registered["refreshToken"] = login(server, registered["email"]).json()["refreshToken"]
    token = FORGERIES[forgery](registered, signer)
    response = me(server, registered["userId"], token)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    # the genuine token still works: the refusal is about the forgery
    assert me(server, registered["userId"], registered["token"]).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer " + "a" * 5000],
    ids=["missing", "empty-bearer", "basic", "garbage", "huge"],
)
def test_missing_or_malformed_authorization_gets_401(server: Server, authorization: str) -> None:
    registered = register(server)
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{server.url}/api/v1/users/{registered['userId']}", headers=headers)
    assert response.status_code == 401


def test_repeated_failed_logins_are_throttled_and_audited(tmp_path: Path) -> None:
    isolated = Server(
        {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}", "ORDERLY_BROKER_URL": ""},
        tmp_path,
    )
    isolated.start().wait_ready()
    try:
        registered = register(isolated)
        for _ in range(5):
            assert login(isolated, registered["email"], "wrong password here").status_code == 401
        # then even the right password is refused for now, with a hint of when to come back
        locked = login(isolated, registered["email"])
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        retry_after = int(locked.headers["retry-after"])
        assert retry_after >= 1
        assert retry_after <= 301
        # another e-mail from the same address is not locked by these five
        other = register(isolated)
        assert login(isolated, other["email"]).status_code == 200
        with sqlite3.connect(tmp_path / "var" / "identity.db") as conn:
            audited = conn.execute(
                "SELECT outcome, COUNT(*) FROM auth_events WHERE email = ? AND kind = 'login'"
                " GROUP BY outcome",
                (registered["email"],),
            ).fetchall()
        # the login that followed the registration, then the five failures
        assert dict(audited) == {"success": 1, "failure": 5}
    finally:
        isolated.stop()


def test_an_operator_disables_a_user_and_its_tokens_stop_working(tmp_path: Path) -> None:
    env = {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}", "ORDERLY_BROKER_URL": ""}
    for _ in range(2):  # creating an operator is safe to repeat
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "orderly",
                "users",
                "create-operator",
                "ops@example.com",
                "--password",
                "operator password 1",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
    isolated = Server(env, tmp_path).start().wait_ready()
    try:
        operator = login(isolated, "ops@example.com", "operator password 1").json()["token"]
        customer = register(isolated)
        # a customer may not disable anyone, itself included
        refused = httpx.post(
            f"{isolated.url}/api/v1/users/{customer['userId']}/disable",
            headers={"Authorization": f"Bearer {customer['token']}"},
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")
        assert me(isolated, customer["userId"], customer["token"]).status_code == 200
        # an operator sees anyone, and disables
        assert me(isolated, customer["userId"], operator).json()["email"] == customer["email"]
        disabled = httpx.post(
            f"{isolated.url}/api/v1/users/{customer['userId']}/disable",
            headers={"Authorization": f"Bearer {operator}"},
        )
        assert disabled.status_code == 200
        assert disabled.json()["disabled"] is True
        assert me(isolated, customer["userId"], customer["token"]).status_code == 401
        assert login(isolated, customer["email"]).status_code == 401
    finally:
        isolated.stop()


def test_a_token_keeps_working_when_the_signing_key_rotates(server: Server) -> None:
    registered = register(server)
    old_kid = jwt.get_unverified_header(registered["token"])["kid"]
    rotated = server.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    # the old token still verifies: its key stays published until it is retired
    assert me(server, registered["userId"], registered["token"]).status_code == 200
    # and the server signs new tokens with the new key once it rereads its keys (seconds)
    deadline = time.monotonic() + 20
    fresh = login(server, registered["email"]).json()["token"]
    while jwt.get_unverified_header(fresh)["kid"] == old_kid and time.monotonic() < deadline:
        fresh = login(server, registered["email"]).json()["token"]
    new_kid = jwt.get_unverified_header(fresh)["kid"]
    assert new_kid != old_kid
    assert me(server, registered["userId"], fresh).status_code == 200
    published = {
        key["kid"] for key in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
    }
    assert {old_kid, new_kid} <= published


def test_saved_addresses_belong_to_their_user(server: Server) -> None:
    alice, bob = register(server), register(server)
    mine = {"Authorization": f"Bearer {alice['token']}"}
    home = {
        "label": "Home",
        "line1": "1 Main St",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
    }
    saved = httpx.post(
        f"{server.url}/api/v1/users/{alice['userId']}/addresses", json=home, headers=mine
    )
    assert saved.status_code == 201
    address_id = saved.json()["addressId"]
    listed = httpx.get(
        f"{server.url}/api/v1/users/{alice['userId']}/addresses", headers=mine
    ).json()
    assert [(a["addressId"], a["label"], a["city"]) for a in listed] == [
        (address_id, "Home", "Springfield")
    ]
    one = httpx.get(
        f"{server.url}/api/v1/users/{alice['userId']}/addresses/{address_id}", headers=mine
    )
    assert one.json()["postal_code"] == "12345"
    # bob can neither read nor add to alice's book, nor read it through his own id
    theirs = {"Authorization": f"Bearer {bob['token']}"}
    for response in [
        httpx.get(f"{server.url}/api/v1/users/{alice['userId']}/addresses", headers=theirs),
        httpx.post(
            f"{server.url}/api/v1/users/{alice['userId']}/addresses", json=home, headers=theirs
        ),
        httpx.get(
            f"{server.url}/api/v1/users/{bob['userId']}/addresses/{address_id}", headers=theirs
        ),
    ]:
        assert response.status_code == 404
    assert (
        len(
            httpx.get(f"{server.url}/api/v1/users/{alice['userId']}/addresses", headers=mine).json()
        )
        == 1
    )
    bad = httpx.post(
        f"{server.url}/api/v1/users/{alice['userId']}/addresses",
        json={**home, "country": "USA"},
        headers=mine,
    )
    assert bad.status_code == 422
    # bob cannot delete it, even through his own id; alice can, once
    one_url = f"{server.url}/api/v1/users/{alice['userId']}/addresses/{address_id}"
    assert httpx.delete(one_url, headers=theirs).status_code == 404
    assert (
        httpx.delete(
            f"{server.url}/api/v1/users/{bob['userId']}/addresses/{address_id}", headers=theirs
        ).status_code
        == 404
    )
    assert httpx.get(one_url, headers=mine).status_code == 200
    assert httpx.delete(one_url, headers=mine).status_code == 204
    assert httpx.delete(one_url, headers=mine).status_code == 404
    assert httpx.get(one_url, headers=mine).status_code == 404


def test_mfa_login_takes_a_code_and_each_code_works_once(tmp_path: Path) -> None:
    with embedded(tmp_path) as first:
        alice = register(first)
        mine = {"Authorization": f"Bearer {alice['token']}"}
        enrolment = httpx.post(f"{first.url}/api/v1/auth/mfa/enrol", headers=mine).json()
        assert enrolment["provisioningUri"].startswith("otpauth://totp/")
        totp = pyotp.TOTP(enrolment["secret"])
        wrong = httpx.post(
            f"{first.url}/api/v1/auth/mfa/activate", json={"code": "000000"}, headers=mine
        )
        assert wrong.status_code == 401
        started = time.time()
        activated = httpx.post(
            f"{first.url}/api/v1/auth/mfa/activate",
            json={"code": totp.at(started)},
            headers=mine,
        )
        assert activated.status_code == 200
        recovery = activated.json()["recoveryCodes"]
        assert len(set(recovery)) == 10

        # a password alone no longer logs in: it opens a challenge, which is no token
        challenge = login(first, alice["email"]).json()
        assert challenge["mfaRequired"] is True
        assert set(challenge) == {"mfaRequired", "mfaToken"}
        assert me(first, alice["userId"], challenge["mfaToken"]).status_code == 401

        # the code that activated MFA is spent; the next step's code logs in
        spent = httpx.post(
            f"{first.url}/api/v1/auth/mfa/verify",
            json={"mfaToken": challenge["mfaToken"], "code": totp.at(started)},
        )
        assert spent.status_code == 401
        code = totp.at(started + 30)
        accepted = httpx.post(
            f"{first.url}/api/v1/auth/mfa/verify",
            json={"mfaToken": challenge["mfaToken"], "code": code},
        )
        assert accepted.status_code == 200
        assert me(first, alice["userId"], accepted.json()["token"]).status_code == 200

        # a second process of the same deployment refuses the same code
        second = Server(first.env, tmp_path).start().wait_ready()
        try:
            again = login(second, alice["email"]).json()
            replay = httpx.post(
                f"{second.url}/api/v1/auth/mfa/verify",
                json={"mfaToken": again["mfaToken"], "code": code},
            )
            assert replay.status_code == 401
            assert replay.json()["code"] == "invalid_mfa_code"
            # a recovery code works, once
            by_recovery = httpx.post(
                f"{second.url}/api/v1/auth/mfa/verify",
                json={"mfaToken": again["mfaToken"], "code": recovery[0]},
            )
            assert by_recovery.status_code == 200
            third = login(second, alice["email"]).json()
            reused = httpx.post(
                f"{second.url}/api/v1/auth/mfa/verify",
                json={"mfaToken": third["mfaToken"], "code": recovery[0]},
            )
            assert reused.status_code == 401
        finally:
            second.stop()

        # guessing codes is throttled per user, across its challenges: three wrong codes
        # above, two more on a fresh challenge, then 429
        guessed = login(first, alice["email"]).json()
        answers = [
            httpx.post(
                f"{first.url}/api/v1/auth/mfa/verify",
                json={"mfaToken": guessed["mfaToken"], "code": f"{n:06d}"},
            )
            for n in range(3)
        ]
        assert [a.status_code for a in answers[:2]] == [401] * 2
        assert answers[2].status_code == 429
        assert int(answers[2].headers["retry-after"]) >= 1


def test_a_password_is_kept_as_given_with_its_blanks(server: Server) -> None:
    password = "  blank edged secret  "
    registered = register(server, password)

    assert login(server, registered["email"], password).status_code == 200
    assert login(server, registered["email"], password.strip()).status_code == 401
