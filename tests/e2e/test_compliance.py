"""Compliance's operator routes over HTTP on an embedded server: holds, decisions, SOM
settings and baseline, product settings; nobody but an operator sees them."""

from collections.abc import Iterator

import pytest

from tests.e2e.server import Server, embedded
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("compliance")) as running:
        yield running


async def test_a_product_is_known_to_compliance_and_an_operator_sets_it(server: Server) -> None:
    operator = server.client(server.login())
    created = await operator.post(
        "/api/v1/products", json={"name": "Oxycodone 5mg", "sku": unique("CMP"), "price": "9.00"}
    )
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    async def named() -> bool:
        answer = await operator.put(
            f"/api/v1/compliance/products/{product_id}",
            json={"serialized": True, "family": "oxycodone", "units_per_package": 100},
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["name"] == "Oxycodone 5mg")

    await eventually(named)
    answer = await operator.put(
        f"/api/v1/compliance/products/{product_id}",
        json={"serialized": False, "family": "oxycodone", "units_per_package": 100},
    )
    assert answer.json() == {
        "product_id": product_id,
        "name": "Oxycodone 5mg",
        "dea_schedule": None,
        "family": "oxycodone",
        "units_per_package": 100,
        "serialized": False,
    }


async def test_operators_set_som_and_import_a_baseline(server: Server) -> None:
    operator = server.client(server.login())
    settings = {"family": "oxycodone", "size_factor": 4, "frequency_factor": "2.5"}
    assert (await operator.put("/api/v1/compliance/som/PH-1", json=settings)).status_code == 204
    history = [{"family": "oxycodone", "month": "2026-06", "units": 2000, "orders": 4}]
    answer = await operator.put("/api/v1/compliance/som/PH-1/history", json=history)
    assert answer.status_code == 204, answer.text
    bad = [{"family": "oxycodone", "month": "2026-13", "units": 2000, "orders": 4}]
    assert (await operator.put("/api/v1/compliance/som/PH-1/history", json=bad)).status_code == 422


async def test_holds_and_decisions_read_and_refuse_as_declared(server: Server) -> None:
    operator = server.client(server.login())
    listed = await operator.get("/api/v1/compliance/holds", params={"status": "open"})
    assert (listed.status_code, listed.json()) == (200, [])
    missing = await operator.get("/api/v1/compliance/holds/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "hold_not_found")
    release = await operator.post("/api/v1/compliance/holds/nope/release", json={"note": "ok"})
    assert release.json()["code"] == "hold_not_found"
    blank = await operator.post("/api/v1/compliance/holds/nope/report", json={"note": "  "})
    assert blank.status_code == 422
    trail = await operator.get("/api/v1/compliance/decisions", params={"order_id": "o-1"})
    assert (trail.status_code, trail.json()) == (200, [])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/v1/compliance/holds", id="holds"),
        pytest.param("GET", "/api/v1/compliance/decisions?order_id=o-1", id="decisions"),
        pytest.param("PUT", "/api/v1/compliance/som/PH-1", id="som"),
    ],
)
async def test_nobody_else_sees_them(server: Server, method: str, path: str) -> None:
    customer = server.client(server.register_customer()["token"])
    answer = await customer.request(method, path, json={})
    assert answer.status_code == 404
    anonymous = await server.client().request(method, path, json={})
    assert anonymous.status_code == 401
