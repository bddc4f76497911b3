"""The pharma catalog over HTTP: NDC products, search by any identifier or by words, edits."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, embedded
from tests.services import unique
from tests.waiting import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("catalog")) as running:
        yield running


@pytest.fixture(scope="module")
def operator(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.login()}"})


@pytest.fixture(scope="module")
def loxapine(operator: httpx.Client) -> dict[str, Any]:
    created = operator.post(
        "/api/v1/products",
        json={
            "name": "Loxapine 10 mg capsules",
            "sku": unique("LOX"),
            "price": "42.30",
            "ndc": "0591-0369-01",
            "strength": "10 mg",
            "dosage_form": "CAPSULE",
            "pack_size": "100 CAPSULE in 1 BOTTLE",
            "manufacturer": "Actavis Pharma",
            "attributes": {"rx_only": True, "storage": "20-25 C"},
        },
    )
    assert created.status_code == 201, created.text
    product: dict[str, Any] = created.json()
    return product


def search(client: httpx.Client, q: str, **params: Any) -> list[str]:
    found = client.get("/api/v1/products", params={"q": q, **params})
    assert found.status_code == 200, found.text
    return [p["name"] for p in found.json()]


def test_a_product_keeps_its_ndc_in_every_form(loxapine: dict[str, Any]) -> None:
    assert loxapine["ndc"] == "0591-0369-01"
    assert loxapine["ndc11"] == "00591036901"
    assert loxapine["gtin"] == "00305910369019"
    assert loxapine["dea_schedule"] is None
    assert loxapine["attributes"] == {"rx_only": True, "storage": "20-25 C"}


@pytest.mark.parametrize(
    "query",
    [
        "0591-0369-01",
        "00591-0369-01",
        "00591036901",
        "0591036901",
        "00305910369019",
        "305910369019",
        "(01)00305910369019(17)271231(10)A123",
        "010030591036901917271231" + "10A123\x1d21SN9",
        "loxapine",
        "LOXA",
        "lox caps",
        "actavis",
    ],
)
def test_search_finds_it_by_any_identifier_or_words(
    server: Server, loxapine: dict[str, Any], query: str
) -> None:
    customer = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.register_customer()['token']}"},
    )
    assert loxapine["name"] in search(customer, query)


def test_search_misses_what_does_not_match(
    operator: httpx.Client, loxapine: dict[str, Any]
) -> None:
    assert search(operator, "loxapine tablets") == []
    assert search(operator, "0591-0369-02") == []
    bad = operator.get("/api/v1/products", params={"q": "00305910369013"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_ndc"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param("00305910369013", "check digit", id="gtin-check-digit"),
        pytest.param("12345-678", "4-4-2, 5-3-2 or 5-4-1", id="two-segments"),
        pytest.param("1234-5678-901", "4-4-2, 5-3-2 or 5-4-1", id="4-4-3"),
        pytest.param("0591-369-01", "4-4-2, 5-3-2 or 5-4-1", id="4-3-2"),
        pytest.param("12345678912", "not an NDC11", id="ndc11-no-padding"),
        pytest.param("12345-6789-12", "not an NDC11", id="hyphenated-ndc11-no-padding"),
        pytest.param("0591036901123", "13 digits", id="thirteen-digits"),
        pytest.param("059103690", "9 digits", id="nine-digits"),
    ],
)
def test_a_malformed_identifier_is_refused_with_its_reason(
    operator: httpx.Client, query: str, reason: str
) -> None:
    bad = operator.get("/api/v1/products", params={"q": query})
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "invalid_ndc"
    assert reason in bad.json()["detail"]


def test_numbers_among_words_still_search(operator: httpx.Client) -> None:
    body = {"name": "Amoxicillin 500 mg capsules", "sku": unique("AMX"), "price": "3.00"}
    assert operator.post("/api/v1/products", json=body).status_code == 201
    assert body["name"] in search(operator, "amoxicillin 500")
    assert body["name"] in search(operator, "500")


def test_a_scanned_gtin_alone_finds_its_product(
    operator: httpx.Client, loxapine: dict[str, Any]
) -> None:
    assert search(operator, "0100305910369019") == [loxapine["name"]]


def test_search_pages(operator: httpx.Client) -> None:
    for n in range(5):
        body = {"name": f"Zolmitriptan pager {n}", "sku": unique("PAGE"), "price": "1.00"}
        assert operator.post("/api/v1/products", json=body).status_code == 201
    first = search(operator, "zolmitriptan pager", limit=2)
    second = search(operator, "zolmitriptan pager", limit=2, offset=2)
    rest = search(operator, "zolmitriptan pager", limit=10, offset=4)
    assert first == ["Zolmitriptan pager 0", "Zolmitriptan pager 1"]
    assert second == ["Zolmitriptan pager 2", "Zolmitriptan pager 3"]
    assert rest == ["Zolmitriptan pager 4"]


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        ({"ndc": "1234567890"}, "invalid_ndc", "ambiguous"),
        ({"ndc": "12345-67890-1"}, "invalid_ndc", "5-4-1"),
        ({"ndc": "0591-0369-01"}, "ndc_taken", "already"),
        ({"dea_schedule": "CI"}, "validation_failed", ""),
        ({"attributes": {"nested": {"no": 1}}}, "validation_failed", ""),
        ({"price": "1.234"}, "validation_failed", ""),
    ],
)
def test_bad_products_are_refused_with_the_reason(
    operator: httpx.Client,
    loxapine: dict[str, Any],
    changes: dict[str, Any],
    code: str,
    reason: str,
) -> None:
    before = operator.get("/api/v1/products", params={"limit": 500}).json()
    body = {"name": "Bad", "sku": unique("BAD"), "price": "1.00", **changes}
    refused = operator.post("/api/v1/products", json=body)
    assert refused.json()["code"] == code, refused.text
    assert reason in refused.json()["detail"]
    assert operator.get("/api/v1/products", params={"limit": 500}).json() == before


def test_an_operator_edits_a_product_and_search_follows(
    server: Server, operator: httpx.Client
) -> None:
    body = {"name": "Oxycodone 5 mg/5 mL solution", "sku": unique("OXY"), "price": "12.00"}
    created = operator.post("/api/v1/products", json={**body, "ndc": "0054-0390-41"}).json()
    changed = operator.patch(
        f"/api/v1/products/{created['id']}",
        json={"dea_schedule": "CII", "name": "Oxycodone HCl oral solution", "price": "13.50"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["dea_schedule"] == "CII"
    assert changed.json()["price"] == "13.50"
    assert changed.json()["ndc"] == "0054-0390-41"
    assert "Oxycodone HCl oral solution" in search(operator, "hcl oral")
    assert search(operator, "oxycodone 5 mg") == []
    # the NDC and SKU are its identity; customers change nothing
    assert operator.patch(f"/api/v1/products/{created['id']}", json={"ndc": "1"}).status_code == 422
    customer = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.register_customer()['token']}"},
    )
    edit = customer.patch(f"/api/v1/products/{created['id']}", json={"name": "x"})
    assert (edit.status_code, edit.json()["code"]) == (403, "operator_only")
    missing = customer.patch("/api/v1/products/nope", json={"name": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, "product_not_found")
    assert operator.patch("/api/v1/products/nope", json={"name": "x"}).status_code == 404


async def test_the_fda_directory_loads_as_searchable_stockable_products(tmp_path: Path) -> None:
    with embedded(tmp_path) as server:
        first = server.cli("demo", "load", "--catalog", "fda", "--fda-limit", "3000")
        assert first.returncode == 0, first.stderr
        # the demo catalog already holds one of these NDCs (oxycodone, 0054-0390-41)
        assert "FDA directory: 2999 package(s) created, 1 already there" in first.stdout
        again = server.cli("demo", "load", "--catalog", "fda", "--fda-limit", "3000")
        assert "FDA directory: 0 package(s) created, 3000 already there" in again.stdout
        stock = server.client(server.login())
        found = (await stock.get("/api/v1/products", params={"q": "00002-0800-01"})).json()
        assert [(p["ndc"], p["name"], p["manufacturer"]) for p in found] == [
            ("0002-0800-01", "Sterile Diluent", "Eli Lilly and Company")
        ]
        assert found[0]["price"] is None
        assert found[0]["pack_size"].startswith("1 VIAL in 1 CARTON")
        by_words = await stock.get("/api/v1/products", params={"q": "sterile diluent"})
        assert "Sterile Diluent" in [p["name"] for p in by_words.json()]
        # inventory heard of it (product.created), so stock can be received
        product_id = found[0]["id"]

        stock = server.client(server.login())

        async def received() -> bool:
            answer = await stock.post(
                f"/api/v1/inventory/{product_id}/receipts",
                json={"quantity": 12, "lot": "C123", "expires_on": "2099-01-31"},
            )
            return answer.status_code == 201

        await eventually(received)
        assert (await stock.get(f"/api/v1/inventory/{product_id}")).json()["atp"] == 12
