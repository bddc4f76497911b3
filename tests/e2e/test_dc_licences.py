"""Distribution centres' DEA schedules and licensed states over HTTP: made and changed by
operators, refused when not valid, hidden from everyone else."""

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.server import Server, embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("dc-licences")) as running:
        yield running


def new_code() -> str:
    return f"DC-{uuid.uuid4().hex[:8].upper()}"


async def test_operators_register_a_dcs_schedules_and_states(server: Server) -> None:
    ops = server.client(server.login())
    code = new_code()

    made = await ops.post(
        "/api/v1/inventory/dcs",
        json={
            "code": code,
            "name": "East",
            "dea_schedules": ["2N", "2", "3"],
            "licensed_states": ["PA", "NJ"],
        },
    )

    assert made.status_code == 201, made.text
    assert (made.json()["dea_schedules"], made.json()["licensed_states"]) == (
        ["2", "2N", "3"],
        ["NJ", "PA"],
    )
    path = f"/api/v1/inventory/dcs/{code}"
    changed = await ops.patch(path, json={"licensed_states": ["PA"]})
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"created_at": None} == {
        "code": code,
        "name": "East",
        "created_at": None,
        "dea_schedules": ["2", "2N", "3"],
        "licensed_states": ["PA"],
    }
    everywhere = await ops.patch(path, json={"licensed_states": None, "name": "East depot"})
    assert (everywhere.json()["licensed_states"], everywhere.json()["name"]) == (None, "East depot")
    none = await ops.patch(path, json={"dea_schedules": []})
    assert none.json()["dea_schedules"] == []
    listed = {dc["code"]: dc for dc in (await ops.get("/api/v1/inventory/dcs")).json()}
    assert listed[code]["dea_schedules"] == []
    assert listed["MAIN"]["dea_schedules"] == ["2", "2N", "3", "3N", "4", "5"]
    assert listed["MAIN"]["licensed_states"] is None

    # a DC made without them handles no controlled substance, for every state
    plain = await ops.post("/api/v1/inventory/dcs", json={"code": new_code(), "name": "Plain"})
    assert (plain.json()["dea_schedules"], plain.json()["licensed_states"]) == ([], None)


async def test_bad_registrations_are_refused_and_others_see_nothing(server: Server) -> None:
    ops = server.client(server.login())
    code = new_code()
    made = await ops.post("/api/v1/inventory/dcs", json={"code": code, "name": "West"})
    assert made.status_code == 201

    for body in (
        {"dea_schedules": ["1"]},
        {"dea_schedules": None},
        {"licensed_states": ["Pennsylvania"]},
        {"colour": "red"},
    ):
        refused = await ops.patch(f"/api/v1/inventory/dcs/{code}", json=body)
        assert refused.status_code == 422, body
    bad = await ops.post(
        "/api/v1/inventory/dcs", json={"code": new_code(), "name": "X", "dea_schedules": ["CII"]}
    )
    assert bad.status_code == 422
    missing = await ops.patch("/api/v1/inventory/dcs/NOWHERE", json={"name": "N"})
    assert (missing.status_code, missing.json()["code"]) == (404, "dc_not_found")
    unchanged = {dc["code"]: dc for dc in (await ops.get("/api/v1/inventory/dcs")).json()}[code]
    assert (unchanged["dea_schedules"], unchanged["licensed_states"]) == ([], None)

    customer = server.client(server.register_customer()["token"])
    hidden = await customer.patch(f"/api/v1/inventory/dcs/{code}", json={"name": "Mine"})
    assert hidden.status_code == 404
    assert (await server.client().patch(f"/api/v1/inventory/dcs/{code}", json={})).status_code == (
        401
    )
