"""Real servers with tracing on (the console exporter) and every log line written: a checkout
is one trace across every process it touched, and the logs of the whole run hold no secret
(tokens, passwords, a TOTP secret, the service key, a card number)."""

import json
import random
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BACKENDS, SERVICE_KEY, Deployment, shared_deployment
from tests.e2e.server import CUSTOMER_PASSWORD, OPERATOR_PASSWORD
from tests.e2e.test_accounts import PASSWORD, enrolled
from tests.e2e.test_checkout_b2c import b2c, place, settled
from tests.e2e.test_seed001_flow import create_product
from tests.services import unique
from tests.waiting import eventually

# where a paid B2C order goes: stock, payment, the order's own moves, its shipment, its mails
TOUCHED = {"ordering", "inventory", "payments", "fulfillment", "notifications"}
# a test card number (Luhn-valid), as a careless client might send it
PAN = "4111111111111111"


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Deployment, Path]]:
    tmp = tmp_path_factory.mktemp("traced")
    settings = {"ORDERLY_TRACING": "console", "ORDERLY_ACCESS_LOG": "on"}
    with shared_deployment(request.param, tmp, ORDERLY_LOG_LEVEL="DEBUG", **settings) as running:
        yield running, tmp


def lines(log_dir: Path) -> list[str]:
    return [
        line for path in sorted(log_dir.glob("*.log")) for line in path.read_text().splitlines()
    ]


def spans(log_dir: Path) -> list[dict[str, Any]]:
    """The spans the console exporter wrote, one JSON line each, from every server's log."""
    found = []
    for line in lines(log_dir):
        if line.startswith('{"name":') and '"context":{"trace_id"' in line:
            found.append(json.loads(line))
    return found


async def test_a_checkout_is_one_trace_across_every_process_it_touched(
    deployment: tuple[Deployment, Path],
) -> None:
    deployed, log_dir = deployment
    product_id = await create_product(deployed, unique("TRC"), 10)
    buyer = deployed.customer()
    # the client names the trace: every span of the checkout must be in it
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"

    async with deployed.ordering.client(buyer["token"]) as client:
        placed = await place(client, b2c(product_id, 1), traceparent=traceparent)
        assert placed.status_code == 201, placed.text
        await settled(client, placed.json()["order_id"], "processing")

    def contexts() -> set[str]:
        return {
            span["attributes"]["orderly.context"]
            for span in spans(log_dir)
            if span["context"]["trace_id"] == f"0x{trace_id}"
            and "orderly.context" in span["attributes"]
        }

    # the batch exporter writes spans out every few seconds
    async def touched() -> set[str] | None:
        return contexts() if contexts() >= TOUCHED else None

    await eventually(touched, within=30)
    ours = [s for s in spans(log_dir) if s["context"]["trace_id"] == f"0x{trace_id}"]
    kinds = {s["kind"] for s in ours}
    assert {"server", "producer", "consumer"} <= kinds
    if deployed.backend.name == "distributed":  # one process per context, one trace
        services = {s["resource"]["attributes"]["service.name"] for s in ours}
        assert {f"orderly-{name}" for name in TOUCHED} <= services


def luhn(digits: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(digits)):
        n = int(digit) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


async def test_the_logs_of_a_run_hold_no_secret(deployment: tuple[Deployment, Path]) -> None:
    deployed, log_dir = deployment
    identity, ordering = deployed.identity, deployed.ordering
    # given: sign-ins, a refused one, a second factor set up, refreshes, orders by card token
    # and one sent with a card number
    buyer = deployed.customer()
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    admin = f"admin-{uuid.uuid4().hex[:8]}@pharmacy.example"
    identity.create_account(account_id, admin, PASSWORD)
    full, authenticator = enrolled(identity, admin)
    enrolment_secret = authenticator.totp.secret
    async with identity.client() as client:
        wrong = {"email": buyer["email"], "password": "not the password 9"}
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refreshToken": full["refreshToken"]}
        )
        assert refreshed.status_code == 200, refreshed.text
    product_id = await create_product(deployed, unique("SEC"), 10)
    async with ordering.client(buyer["token"]) as client:
        paid = await place(client, b2c(product_id, 1))
        assert paid.status_code == 201, paid.text
        await settled(client, paid.json()["order_id"], "processing")
        careless = await client.post("/api/v1/orders", json=b2c(product_id, 1, PAN))
        assert careless.status_code >= 400

    secrets_sent = {
        "the operator's password": OPERATOR_PASSWORD,
        "a customer's password": CUSTOMER_PASSWORD,
        "a pharmacy's password": PASSWORD,
        "a wrong password": "not the password 9",
        "the operator's token": deployed.operator_token,
        "a customer's token": buyer["token"],
        "an access token": full["token"],
        "a refresh token": full["refreshToken"],
        "a refreshed token": refreshed.json()["token"],
        "a TOTP secret": enrolment_secret,
        "the service key": SERVICE_KEY,
        "a card number": PAN,
    }
    # then: none of them, nor anything shaped like a bearer token or a card number, is logged
    logged = lines(log_dir)
    assert any('"trace_id"' in line and '"event":"request"' in line for line in logged)
    assert spans(log_dir)  # the console exporter's lines were scanned too
    text = "\n".join(logged)
    assert [name for name, secret in secrets_sent.items() if secret in text] == []
    assert re.findall(r"Bearer\s+\S{16,}", text) == []
    assert re.findall(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}", text) == []  # a JWT's header and claims
    numbers = re.findall(r"(?<![0-9A-Za-z_-])\d{13,19}(?![0-9A-Za-z_-])", text)
    assert [n for n in numbers if luhn(n)] == []
