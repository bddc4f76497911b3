"""Trusting an external OpenID Connect issuer: a Keycloak-shaped one, served over real HTTP."""

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.e2e.server import Server, embedded, free_port, stocked
from tests.e2e.test_seed001_flow import ADDRESS
from tests.services import unique
from tests.waiting import eventually

AUDIENCE = "orderly-api"


class Issuer:
    """Discovery document and key set at a real address; keys can be rotated; requests counted."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if self.path == "/realms/orderly/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": issuer.jwks_uri}
                elif self.path == "/realms/orderly/protocol/openid-connect/certs":
                    body = {"keys": [issuer.jwk(kid) for kid in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.http.server_address[1]
        self.url = f"http://127.0.0.1:{port}/realms/orderly"
        self.jwks_uri = f"{self.url}/protocol/openid-connect/certs"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def rotate(self) -> str:
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def jwk(self, kid: str) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str | None = None, **changes: Any) -> str:
        kid = kid or next(reversed(self.keys))
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"kc-{uuid.uuid4().hex[:12]}",
            "iat": now,
            "exp": now + 300,
            "sid": uuid.uuid4().hex,
            "realm_access": {"roles": ["offline_access"]},
            **changes,
        }
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            self.keys[kid],
            algorithm="RS256",
            headers={"kid": kid},
        )

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    running.rotate()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[Server]:
    env = {
        "ORDERLY_EXTERNAL_ISSUER": issuer.url,
        "ORDERLY_EXTERNAL_ROLES_CLAIM": "realm_access.roles",
        "ORDERLY_EXTERNAL_ROLE_MAP": "orderly-operator:operator,pharmacy-buyer:buyer",
        "ORDERLY_EXTERNAL_ACCOUNT_CLAIM": "orderly_account",
    }
    with embedded(tmp_path_factory.mktemp("external"), **env) as running:
        yield running


def session(server: Server, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"}
    )


async def test_the_issuers_tokens_work_with_their_claims_mapped(
    server: Server, issuer: Issuer
) -> None:
    operator = server.client(
        issuer.token(realm_access={"roles": ["orderly-operator", "offline_access"]})
    )
    product = await operator.post(
        "/api/v1/products", json={"name": "P", "sku": unique("EXT"), "price": "2.00", "stock": 5}
    )
    assert product.status_code == 201, product.text
    await stocked(operator, product.json()["id"], 5)

    # a user without any mapped role is a customer, known by the issuer's subject
    customer_token = issuer.token(sub="kc-alice")
    seen = session(server, customer_token).json()
    assert seen["userId"] == "kc-alice"
    assert seen["roles"] == ["customer"]
    customer = server.client(customer_token)
    assert (await customer.post("/api/v1/products", json={})).status_code == 403
    order = await customer.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.json()["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
        },
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["order_id"]
    assert (await operator.get(f"/api/v1/orders/{order_id}")).status_code == 200
    stranger = server.client(issuer.token(sub="kc-bob"))
    assert (await stranger.get(f"/api/v1/orders/{order_id}")).status_code == 404

    # a pharmacy buyer carries its account, and must have signed in with a second factor
    buyer = {"realm_access": {"roles": ["pharmacy-buyer"]}, "orderly_account": "PH-45678"}
    with_mfa = session(server, issuer.token(**buyer, amr=["pwd", "otp"])).json()
    assert with_mfa["account"] == "PH-45678"
    assert with_mfa["roles"] == ["buyer"]
    without = session(server, issuer.token(**buyer, amr=["pwd"]))
    assert without.status_code == 403
    assert without.json()["code"] == "mfa_required"


def _hs256_with_public_key(issuer: Issuer) -> str:
    kid = next(iter(issuer.keys))
    public = (
        issuer.keys[kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60}
    header = {"alg": "HS256", "kid": kid, "typ": "JWT"}
    signing_input = b".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()) for part in (header, claims)
    )
    signature = hmac.new(public, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()


def test_tokens_the_issuer_did_not_sign_as_it_should_get_401(
    server: Server, issuer: Issuer
) -> None:
    kid = next(iter(issuer.keys))
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    elsewhere = Issuer()
    elsewhere.rotate()
    try:
        forged = {
            "another key, same kid": jwt.encode(
                {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60},
                impostor,
                algorithm="RS256",
                headers={"kid": kid},
            ),
            "wrong issuer": issuer.token(iss="https://evil.example/realms/orderly"),
            "wrong audience": issuer.token(aud="account"),
            "expired": issuer.token(iat=now - 600, exp=now - 120),
            "no expiry": issuer.token(exp=None),
            "alg none": jwt.encode(
                {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60},
                None,
                algorithm="none",
                headers={"kid": kid},
            ),
            "HS256 with the public key": _hs256_with_public_key(issuer),
            "jku pointing elsewhere": jwt.encode(
                {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60},
                elsewhere.keys[next(iter(elsewhere.keys))],
                algorithm="RS256",
                headers={"kid": next(iter(elsewhere.keys)), "jku": elsewhere.jwks_uri},
            ),
        }
        for name, token in forged.items():
            response = session(server, token)
            assert response.status_code == 401, name
            assert response.json()["code"] == "invalid_token", name
        assert elsewhere.requests == []
    finally:
        elsewhere.close()

    # Orderly's own sign-in is not this deployment's
    login = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": "operator@example.com", "password": "warehouse keys 2026"},
    )
    assert login.status_code == 403
    assert login.json()["code"] == "external_sign_in"


async def test_a_key_the_issuer_rotates_in_is_picked_up(server: Server, issuer: Issuer) -> None:
    old = server.client(issuer.token())
    assert (await old.get("/api/v1/auth/session")).status_code == 200
    new = server.client(issuer.token(kid=issuer.rotate()))

    async def accepted() -> bool:
        return (await new.get("/api/v1/auth/session")).status_code == 200

    await eventually(accepted, within=15)
    # and the old key, still published, still verifies
    assert (
        await server.client(issuer.token(kid=next(iter(issuer.keys)))).get("/api/v1/auth/session")
    ).status_code == 200


def test_an_unreachable_issuer_answers_503_not_401(tmp_path: Path, issuer: Issuer) -> None:
    closed = f"http://127.0.0.1:{free_port()}/certs"
    env = {"ORDERLY_EXTERNAL_ISSUER": issuer.url, "ORDERLY_EXTERNAL_JWKS_URL": closed}
    with embedded(tmp_path, **env) as server:
        response = session(server, issuer.token())
        assert response.status_code == 503
        assert response.json()["code"] == "dependency_unavailable"
