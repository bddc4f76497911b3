"""The OpenAPI document holds: schemathesis drives every operation of a real server with it."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.conftest import needs_services
from tests.e2e.server import CUSTOMER_PASSWORD, Server
from tests.services import create_pg_database, drop_pg_database

# Modest, and the same on every run: a fixed seed and derandomised generation.
MAX_EXAMPLES = 12
SEED = 20261204
SESSIONS = 8


@dataclass(frozen=True)
class Api:
    url: str
    tokens: dict[str, str]  # "customer" and "operator"
    spare_sessions: list[str]  # the customer's, one for each logout
    database: str  # "sqlite" or "postgres"


def _serve(database: str, env: dict[str, str], log_dir: Path) -> Iterator[Api]:
    server = Server({"ORDERLY_BROKER_URL": "", **env}, log_dir)
    server.create_operator()
    server.start().wait_ready()
    try:
        customer = server.register_customer()
        # Logins made now, before the fuzzing of the login route throttles this client.
        sessions = [server.login(customer["email"], CUSTOMER_PASSWORD) for _ in range(SESSIONS)]
        tokens = {"customer": customer["token"], "operator": server.login()}
        yield Api(server.url, tokens, sessions, database)
    finally:
        server.stop()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        # minutes of fuzzing whose PostgreSQL half `make chaos` runs; `make test` fuzzes every
        # route on PostgreSQL more briefly (test_fuzz_routes.py)
        pytest.param(
            "postgres",
            id="postgres",
            marks=[needs_services, pytest.mark.distributed, pytest.mark.chaos],
        ),
    ],
)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server for the module per database: every context in one process, no broker."""
    tmp = tmp_path_factory.mktemp(f"openapi-{request.param}")
    if request.param == "sqlite":
        yield from _serve("sqlite", {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp / 'var'}"}, tmp)
        return
    url = asyncio.run(create_pg_database())
    try:
        yield from _serve("postgres", {"ORDERLY_DATABASE_URL": url}, tmp)
    finally:
        asyncio.run(drop_pg_database(url))


# Some refusals are of meaning, not of shape: an unknown product, a common password, a
# product without a price. The document declares them (422, each with its code) and JSON
# Schema cannot rule them out, so a schema-valid request may meet one. What it must never meet
# is a refusal of its shape: that would be the document and the models disagreeing.
_SEMANTIC_REFUSALS = ["2XX", "3XX", 401, 402, 403, 404, 409, 422, 429, "5XX"]
_SHAPE_REFUSALS = {"validation_failed", "malformed_json"}


@schemathesis.check
def schema_valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code in (400, 422) and response.json().get("code") in _SHAPE_REFUSALS:
        raise AssertionError(f"a schema-valid request was refused: {response.text}")


@pytest.fixture
def token(api: Api) -> str:
    """The run goes with a customer's token here, and with an operator's in
    test_openapi_conformance_operator.py: a module each, so that the two runs share the test
    workers."""
    return api.tokens["customer"]


@pytest.fixture
def api_schema(
    request: pytest.FixtureRequest, api: Api, token: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The server's own document, with the caller's token as its bearer credentials."""
    # schemathesis 4 names each operation's subtest through `node._nodeid`, which pytest 9.2
    # no longer has; without it the lazily loaded schema cannot run at all.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                # NUL too: the edge refuses it on both databases alike (`invalid_character`)
                "allow-x00": True,
                # Undeclared query parameters and headers are ignored, as HTTP APIs do (and the
                # document cannot forbid them): they are no invalid input to be refused.
                "allow-extra-parameters": False,
            },
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {"expected-statuses": _SEMANTIC_REFUSALS},
            },
            "auth": {"openapi": {"bearer": {"bearer": token}}},
            "cache": {"directory": str(tmp_path_factory.mktemp("schemathesis-cache"))},
        }
    )
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=config)
    _fresh_session_for_logout(schema, api)
    return schema


def _fresh_session_for_logout(schema: Any, api: Api) -> None:
    """Logging out ends the session its token speaks for: logouts get sessions of their
    own, so the token the other operations use stays live."""

    class FreshSession:
        def get(self, case: Any, ctx: Any) -> str:
            return _logout_session(api)

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema.auth(refresh_interval=None).apply_to(method="POST", path="/api/v1/auth/logout")(
        FreshSession
    )


def _logout_session(api: Api) -> str:
    # Once the spares are spent, logouts go out with an ended session: 401, declared.
    if len(api.spare_sessions) > 1:
        return api.spare_sessions.pop()
    return api.spare_sessions[0]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_keeps_its_description(case: Any) -> None:
    case.call_and_validate()


def test_linked_operations_keep_their_description(api_schema: Any, api: Api, token: str) -> None:
    failures: list[str] = []

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        """The state machine sends no credentials of its own: each step gets the token."""

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            bearer = _logout_session(api) if case.path == "/api/v1/auth/logout" else token
            return {"headers": {"Authorization": f"Bearer {bearer}"}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except BaseException as failure:
                failures.append(f"{case.method} {case.formatted_path}: {failure}")
                raise

    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=6,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    except hypothesis.errors.Flaky:
        # The server's state moves on between runs, so a scenario replayed may draw other
        # steps (Hypothesis calls that flaky). As schemathesis' own runner does, what decides
        # is whether any step broke the description while the scenarios ran.
        assert not failures, "\n".join(failures)


def test_the_document_declares_refusals_and_the_bearer_scheme(api: Api) -> None:
    document = httpx.get(f"{api.url}/openapi.json").json()

    create = document["paths"]["/api/v1/products"]["post"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert create["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/v1/auth/login"]["post"]
    conflict = create["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert conflict["properties"]["code"]["enum"] == ["ndc_taken", "sku_taken"]
    invalid = create["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert "validation_failed" in invalid["properties"]["code"]["enum"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        pytest.param("/api/v1/orders", "GET, POST", id="two-routes-one-path"),
        pytest.param("/api/v1/products/check-availability", "POST", id="literal-path"),
    ],
)
def test_a_405_names_every_method_of_its_path(api: Api, path: str, allowed: str) -> None:
    token = api.tokens["customer"]
    response = httpx.delete(f"{api.url}{path}", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == allowed


def test_a_count_written_with_a_zero_fraction_is_a_count(api: Api) -> None:
    # JSON Schema's integer includes 2.0; 2.5 is not one
    def check(quantity: float) -> httpx.Response:
        return httpx.post(
            f"{api.url}/api/v1/products/check-availability",
            json={"items": [{"product_id": "no-such-product", "quantity": quantity}]},
            headers={"Authorization": f"Bearer {api.tokens['customer']}"},
        )

    assert check(2.0).json()["code"] == "product_not_found"
    assert check(2.5).json()["code"] == "validation_failed"


def test_a_lot_without_expiry_fits_the_document(api: Api) -> None:
    operator = {"Authorization": f"Bearer {api.tokens['operator']}"}
    product = httpx.post(
        f"{api.url}/api/v1/products",
        json={"name": "Gauze", "sku": f"GZ-{api.database}", "price": "2.50", "stock": 5},
        headers=operator,
    ).json()

    position = httpx.get(f"{api.url}/api/v1/inventory/{product['id']}", headers=operator).json()
    document = httpx.get(f"{api.url}/openapi.json").json()

    # the position leaves out what is null, so the document may not require it
    (lot,) = position["lots"]
    assert "expires_on" not in lot
    assert set(document["components"]["schemas"]["LotOut"]["required"]) <= set(lot)
