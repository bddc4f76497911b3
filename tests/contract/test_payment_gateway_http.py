"""The payment gateway port: the in-memory simulated gateway and the card gateway over HTTP
(`HttpGateway` against `orderly payments-sim` in a process of its own) answer alike, and the
HTTP one moves money once per idempotency key, whatever the gateway's faults."""

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from orderly.config import ConfigError, load_settings
from orderly.kernel.ids import new_id
from orderly.payments.gateway import (
    KEY_HEADER,
    GatewayError,
    GatewayTimeout,
    HttpGateway,
    PaymentGateway,
    SimulatedGateway,
    gateway_for,
)
from tests.e2e.server import TLS, free_port
from tests.payments_sim import GatewaySim, running_gateway
from tests.waiting import eventually

# Seconds a call may take before the gateway under test gives up on it: short for the calls
# meant to time out, long enough for every other on a loaded host.
PATIENT = 5.0
HASTY = 1.0


@pytest.fixture(scope="module")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewaySim]:
    with running_gateway(tmp_path_factory.mktemp("payments-sim")) as running:
        yield running


@pytest.fixture
def sim(simulator_process: GatewaySim) -> GatewaySim:
    simulator_process.faults("ok")
    return simulator_process


@pytest.fixture
async def http(sim: GatewaySim) -> AsyncIterator[HttpGateway]:
    gateway = HttpGateway(sim.url, PATIENT)
    try:
        yield gateway
    finally:
        await gateway.close()


@pytest.fixture(params=["memory", "http"])
async def gateway(
    request: pytest.FixtureRequest, simulator_process: GatewaySim
) -> AsyncIterator[PaymentGateway]:
    """Each implementation, impatient: a call that is not answered times out within a second."""
    if request.param == "memory":
        yield SimulatedGateway()
        return
    simulator_process.faults("ok")
    http = HttpGateway(simulator_process.url, HASTY)
    try:
        yield http
    finally:
        await http.close()


def key(step: str) -> str:
    return f"{new_id()}:{step}"


def moved(sim: GatewaySim, reference: str) -> list[tuple[str, int]]:
    """(kind, cents) of each movement on the authorisation, in order."""
    return [(m["kind"], m["cents"]) for m in sim.movements(reference)["movements"]]


# Every implementation


async def test_a_card_is_authorised_with_a_reference(gateway: PaymentGateway) -> None:
    outcome = await gateway.authorize("tok_visa", 2599, "USD", key=key("authorize"))

    assert outcome.approved
    assert outcome.reference.startswith("auth_")
    captured = await gateway.capture(outcome.reference, 2599, key=key("capture"))
    assert (captured.approved, captured.reference) == (True, outcome.reference)


async def test_a_declined_card_is_declined(gateway: PaymentGateway) -> None:
    outcome = await gateway.authorize("tok_decline", 2599, "USD", key=key("authorize"))

    assert (outcome.approved, outcome.reason) == (False, "card_declined")


@pytest.mark.parametrize(
    ("token", "failure"),
    [
        pytest.param("tok_timeout", GatewayTimeout, id="timeout"),
        pytest.param("tok_error", GatewayError, id="error"),
    ],
)
async def test_a_gateway_that_fails_raises(
    gateway: PaymentGateway, token: str, failure: type[Exception]
) -> None:
    with pytest.raises(failure):
        await gateway.authorize(token, 2599, "USD", key=key("authorize"))


async def test_the_same_key_twice_answers_the_same(gateway: PaymentGateway) -> None:
    once = key("authorize")
    first = await gateway.authorize("tok_visa", 1000, "USD", key=once)
    second = await gateway.authorize("tok_visa", 1000, "USD", key=once)
    refund_key = key("refund")
    refunded = await gateway.refund(first.reference, 1000, key=refund_key)
    again = await gateway.refund(first.reference, 1000, key=refund_key)

    assert first == second
    assert refunded == again
    assert refunded.reference.startswith("re_")


# Over HTTP: what the simulated gateway did, from its movements


async def test_each_key_moves_money_once(sim: GatewaySim, http: HttpGateway) -> None:
    # given an authorisation captured and refunded in part
    keys = {step: key(step) for step in ("authorize", "capture", "refund")}
    auth = await http.authorize("tok_visa", 4999, "USD", key=keys["authorize"])
    await http.capture(auth.reference, 4999, key=keys["capture"])
    await http.refund(auth.reference, 1500, key=keys["refund"])

    # when every call is sent again with its key
    assert await http.authorize("tok_visa", 4999, "USD", key=keys["authorize"]) == auth
    await http.capture(auth.reference, 4999, key=keys["capture"])
    await http.refund(auth.reference, 1500, key=keys["refund"])

    # then each moved money once
    found = sim.movements(auth.reference)
    assert [(m["kind"], m["cents"], m["key"]) for m in found["movements"]] == [
        ("authorize", 4999, keys["authorize"]),
        ("capture", 4999, keys["capture"]),
        ("refund", 1500, keys["refund"]),
    ]
    assert found["references"] == {
        auth.reference: {
            "authorized": 4999,
            "captured": 4999,
            "refunded": 1500,
            "voided": False,
            "captures": 1,
            "refunds": 1,
            "currency": "USD",
        }
    }


async def test_a_second_refund_with_its_own_key_is_counted(
    sim: GatewaySim, http: HttpGateway
) -> None:
    auth = await http.authorize("tok_visa", 3000, "USD", key=key("authorize"))
    await http.capture(auth.reference, 3000, key=key("capture"))
    await http.refund(auth.reference, 1000, key=key("credit"))
    await http.refund(auth.reference, 2000, key=key("refund"))

    totals = sim.movements(auth.reference)["references"][auth.reference]
    assert (totals["captured"], totals["refunded"], totals["refunds"]) == (3000, 3000, 2)


async def test_a_decline_moves_nothing(sim: GatewaySim, http: HttpGateway) -> None:
    once = key("authorize")
    declined = await http.authorize("tok_decline", 2599, "USD", key=once)

    assert not declined.approved
    assert not [m for m in sim.movements()["movements"] if m["key"] == once]


async def test_a_voided_authorisation_takes_no_money(sim: GatewaySim, http: HttpGateway) -> None:
    auth = await http.authorize("tok_visa", 1200, "USD", key=key("authorize"))
    voided = await http.void(auth.reference, key=key("void"))

    assert voided.approved
    with pytest.raises(GatewayError, match="voided"):
        await http.capture(auth.reference, 1200, key=key("capture"))
    assert moved(sim, auth.reference) == [("authorize", 1200), ("void", 1200)]
    assert sim.movements(auth.reference)["references"][auth.reference]["voided"] is True


async def test_a_captured_authorisation_cannot_be_voided(
    sim: GatewaySim, http: HttpGateway
) -> None:
    auth = await http.authorize("tok_visa", 1200, "USD", key=key("authorize"))
    await http.capture(auth.reference, 1200, key=key("capture"))

    with pytest.raises(GatewayError, match="already_captured"):
        await http.void(auth.reference, key=key("void"))
    assert moved(sim, auth.reference) == [("authorize", 1200), ("capture", 1200)]


async def test_an_unknown_reference_is_refused(http: HttpGateway) -> None:
    with pytest.raises(GatewayError, match="404"):
        await http.capture("auth_never", 100, key=key("capture"))


async def test_a_key_sent_with_another_call_is_refused(sim: GatewaySim, http: HttpGateway) -> None:
    once = key("authorize")
    auth = await http.authorize("tok_visa", 1000, "USD", key=once)

    with pytest.raises(GatewayError, match="idempotency_key_reused"):
        await http.authorize("tok_visa", 9000, "USD", key=once)
    assert moved(sim, auth.reference) == [("authorize", 1000)]


def test_a_money_call_without_its_key_is_refused(sim: GatewaySim) -> None:
    before = len(sim.movements()["movements"])
    body = {"token": "tok_visa", "amount_cents": 100, "currency": "USD"}
    answer = httpx.post(f"{sim.url}/v1/authorizations", json=body, timeout=5, verify=TLS)

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "idempotency_key_required"
    assert len(sim.movements()["movements"]) == before


def test_the_simulator_refuses_a_bad_amount(sim: GatewaySim) -> None:
    body = {"token": "tok_visa", "amount_cents": "12.00", "currency": "USD"}
    headers = {KEY_HEADER: key("authorize")}
    answer = httpx.post(
        f"{sim.url}/v1/authorizations", json=body, headers=headers, timeout=5, verify=TLS
    )

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"


# Over HTTP: faults


async def test_an_error_fault_fails_calls_without_effect_then_recovers(
    sim: GatewaySim, http: HttpGateway
) -> None:
    # given a gateway failing its next two calls
    sim.faults("error", times=2)
    keys = [key("authorize") for _ in range(3)]

    # when three cards are authorised
    for failing in keys[:2]:
        with pytest.raises(GatewayError, match="503"):
            await http.authorize("tok_visa", 777, "USD", key=failing)
    recovered = await http.authorize("tok_visa", 777, "USD", key=keys[2])

    # then the failed calls made nothing, and the gateway is back to answering
    assert recovered.approved
    made = [m["key"] for m in sim.movements()["movements"] if m["key"] in keys]
    assert made == [keys[2]]
    assert sim.current_faults() == {"latency_ms": 0, "mode": "ok", "times": None}


async def test_an_error_fault_holds_until_switched_off(sim: GatewaySim, http: HttpGateway) -> None:
    sim.faults("error")
    for _ in range(3):
        with pytest.raises(GatewayError):
            await http.authorize("tok_visa", 500, "USD", key=key("authorize"))
    assert sim.current_faults()["mode"] == "error"

    sim.faults("ok")
    assert (await http.authorize("tok_visa", 500, "USD", key=key("authorize"))).approved


async def test_a_timeout_leaves_the_outcome_unknown_and_a_retry_finds_it(
    sim: GatewaySim, http: HttpGateway
) -> None:
    # given an authorisation, and a gateway that withholds its next answer
    auth = await http.authorize("tok_visa", 6400, "USD", key=key("authorize"))
    sim.faults("timeout", times=1)
    capture_key = key("capture")

    # when the capture is not answered in time
    hasty = HttpGateway(sim.url, HASTY)
    try:
        with pytest.raises(GatewayTimeout):
            await hasty.capture(auth.reference, 6400, key=capture_key)
    finally:
        await hasty.close()

    # then the gateway captured all the same; the call sent again with its key says so,
    # and captures nothing more
    async def captured() -> list[tuple[str, int]] | None:
        found = moved(sim, auth.reference)
        return found if ("capture", 6400) in found else None

    await eventually(captured)
    again = await http.capture(auth.reference, 6400, key=capture_key)
    assert (again.approved, again.reference) == (True, auth.reference)
    assert moved(sim, auth.reference) == [("authorize", 6400), ("capture", 6400)]


async def test_latency_slows_every_call(sim: GatewaySim, http: HttpGateway) -> None:
    sim.faults("ok", latency_ms=300)
    started = time.monotonic()
    outcome = await http.authorize("tok_visa", 100, "USD", key=key("authorize"))

    assert outcome.approved
    assert time.monotonic() - started >= 0.3
    assert sim.current_faults()["latency_ms"] == 300


def test_faults_are_checked(sim: GatewaySim) -> None:
    bad = httpx.post(f"{sim.url}/sim/faults", json={"mode": "flaky"}, timeout=5, verify=TLS)

    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_faults"
    assert sim.current_faults()["mode"] == "ok"


async def test_a_gateway_out_of_reach_is_an_error() -> None:
    nowhere = HttpGateway(f"http://127.0.0.1:{free_port()}", PATIENT)
    try:
        with pytest.raises(GatewayError, match="could not be reached"):
            await nowhere.authorize("tok_visa", 100, "USD", key=key("authorize"))
    finally:
        await nowhere.close()


def test_a_reset_forgets_everything(simulator_process: GatewaySim) -> None:
    # its own simulator's state is the module's: reset is checked on what it holds now
    sim = simulator_process
    sim.faults("error", latency_ms=10)
    answer = httpx.post(f"{sim.url}/sim/reset", timeout=5, verify=TLS)

    assert answer.status_code == 200
    assert sim.movements() == {"movements": [], "references": {}}
    assert sim.current_faults() == {"latency_ms": 0, "mode": "ok", "times": None}


# The setting


@pytest.mark.parametrize(
    ("environ", "kind"),
    [
        pytest.param({}, SimulatedGateway, id="none"),
        pytest.param(
            {"ORDERLY_PAYMENT_GATEWAY_URL": "http://127.0.0.1:8072"}, HttpGateway, id="http"
        ),
    ],
)
def test_the_setting_chooses_the_gateway(environ: dict[str, str], kind: type[Any]) -> None:
    assert isinstance(gateway_for(load_settings(environ)), kind)


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"ORDERLY_PAYMENT_GATEWAY_URL": "ftp://gateway"}, id="not-http"),
        pytest.param({"ORDERLY_PAYMENT_GATEWAY_TIMEOUT": "0"}, id="no-time"),
    ],
)
def test_a_gateway_setting_that_cannot_work_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="ORDERLY_PAYMENT_GATEWAY"):
        load_settings(environ)
