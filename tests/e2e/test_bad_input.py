"""Bad input gets a problem+json with a stable code, and nothing is written."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, embedded
from tests.services import unique

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("bad-input")) as running:
        yield running


@pytest.fixture(scope="module")
def op(server: Server) -> Iterator[httpx.Client]:
    """An operator: keeps the catalog, sees every order."""
    with httpx.Client(base_url=server.url, headers=bearer(server.login())) as client:
        yield client


@pytest.fixture(scope="module")
def buyer(server: Server) -> Iterator[httpx.Client]:
    """A customer placing orders."""
    token = server.register_customer()["token"]
    with httpx.Client(base_url=server.url, headers=bearer(token)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def product(op: httpx.Client) -> str:
    response = op.post(
        "/api/v1/products",
        json={"name": "Gloves", "sku": unique("GLV"), "price": "9.99", "stock": 10},
    )
    assert response.status_code == 201
    product_id: str = response.json()["id"]
    return product_id


def order(items: Any, address: Any = ADDRESS) -> dict[str, Any]:
    return {"items": items, "shipping_address": address}


def nothing_written(op: httpx.Client) -> None:
    assert op.get("/api/v1/orders").json() == []
    outbox = {row["context"]: row for row in op.get("/api/v1/admin/outbox").json()}
    assert outbox["ordering"]["pending"] + outbox["ordering"]["published"] == 0
    assert op.get("/api/v1/shipments").json() == []


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


@pytest.mark.parametrize(
    ("make_items", "status", "code"),
    [
        pytest.param(
            lambda p: [{"product_id": "no-such-product", "quantity": 1}],
            422,
            "unknown_product",
            id="unknown-product",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 0}],
            422,
            "validation_failed",
            id="zero-quantity",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": -3}],
            422,
            "validation_failed",
            id="negative-quantity",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 10**30}],
            422,
            "validation_failed",
            id="absurd-quantity",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": "2"}],
            422,
            "validation_failed",
            id="quantity-as-string",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 1.5}],
            422,
            "validation_failed",
            id="fractional-quantity",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 1}, {"product_id": p, "quantity": 2}],
            422,
            "duplicate_product",
            id="duplicate-product",
        ),
        pytest.param(lambda p: [], 422, "validation_failed", id="no-items"),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 1, "price": 0}],
            422,
            "validation_failed",
            id="unknown-field",
        ),
        pytest.param(
            lambda p: [{"product_id": p, "quantity": 11}],
            400,
            "insufficient_stock",
            id="more-than-stock",
        ),
    ],
)
def test_bad_order_lines_are_refused(
    op: httpx.Client, buyer: httpx.Client, product: str, make_items: Any, status: int, code: str
) -> None:
    response = buyer.post("/api/v1/orders", json=order(make_items(product)))
    problem_of(response, status, code)
    nothing_written(op)


def test_malformed_json_is_refused(op: httpx.Client, buyer: httpx.Client) -> None:
    response = buyer.post(
        "/api/v1/orders",
        content=b'{"items": [',
        headers={"content-type": "application/json"},
    )
    problem_of(response, 400, "malformed_json")
    nothing_written(op)


def test_a_missing_or_bad_address_is_refused(
    op: httpx.Client, buyer: httpx.Client, product: str
) -> None:
    items = [{"product_id": product, "quantity": 1}]
    problem_of(buyer.post("/api/v1/orders", json={"items": items}), 422, "validation_failed")
    bad = {**ADDRESS, "country": "United States"}
    problem_of(buyer.post("/api/v1/orders", json=order(items, bad)), 422, "validation_failed")
    nothing_written(op)


def test_an_overlong_idempotency_key_is_refused(
    op: httpx.Client, buyer: httpx.Client, product: str
) -> None:
    body = order([{"product_id": product, "quantity": 1}])
    for path, sent in (
        ("/api/v1/orders", body),
        ("/api/v1/cart/checkout", {"shipping_address": ADDRESS}),
    ):
        refused = buyer.post(path, json=sent, headers={"Idempotency-Key": "k" * 256})
        problem = problem_of(refused, 422, "validation_failed")
        assert problem["errors"][0]["loc"] == ["header", "idempotency-key"]
    nothing_written(op)
    documented = op.get("/openapi.json").json()["paths"]["/api/v1/orders"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= documented[0].items()


def test_an_oversized_body_is_refused(op: httpx.Client, buyer: httpx.Client, product: str) -> None:
    huge = order([{"product_id": product, "quantity": 1}], {**ADDRESS, "line2": "x" * 2_000_000})
    problem_of(buyer.post("/api/v1/orders", json=huge), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"items": [], "pad": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    chunked = buyer.post(
        "/api/v1/orders",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    problem_of(chunked, 413, "payload_too_large")
    nothing_written(op)


def test_an_unknown_order_or_shipment_is_404(op: httpx.Client, buyer: httpx.Client) -> None:
    problem_of(op.get("/api/v1/orders/nope"), 404, "order_not_found")
    problem_of(op.get("/api/v1/shipments/nope"), 404, "shipment_not_found")
    problem_of(op.get("/api/v1/products/nope"), 404, "product_not_found")
    problem_of(op.get("/api/v1/no-such-route"), 404, "not_found")


def test_check_availability_refuses_unknown_products(
    op: httpx.Client, buyer: httpx.Client, product: str
) -> None:
    response = op.post(
        "/api/v1/products/check-availability",
        json={
            "items": [
                {"product_id": product, "quantity": 1},
                {"product_id": "ghost", "quantity": 1},
            ]
        },
    )
    assert problem_of(response, 404, "product_not_found")["product_ids"] == ["ghost"]


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        pytest.param({"price": "1.999"}, 422, "validation_failed", id="price-too-precise"),
        pytest.param({"price": -1}, 422, "validation_failed", id="negative-price"),
        pytest.param({"stock": -1}, 422, "validation_failed", id="negative-stock"),
        pytest.param({"stock": 10**15}, 422, "validation_failed", id="absurd-stock"),
        pytest.param({"sku": "has spaces"}, 422, "validation_failed", id="bad-sku"),
        pytest.param({"name": ""}, 422, "validation_failed", id="empty-name"),
    ],
)
def test_bad_products_are_refused(
    op: httpx.Client, changes: dict[str, Any], status: int, code: str
) -> None:
    before = op.get("/api/v1/products").json()
    body = {"name": "Thermometer", "sku": unique("TH"), "price": "12.50", "stock": 5, **changes}
    problem_of(op.post("/api/v1/products", json=body), status, code)
    assert op.get("/api/v1/products").json() == before


def test_a_taken_sku_is_a_conflict(op: httpx.Client, buyer: httpx.Client) -> None:
    body = {"name": "Spray", "sku": unique("SPR"), "price": "4.25", "stock": 5}
    assert op.post("/api/v1/products", json=body).status_code == 201
    before = op.get("/api/v1/products").json()
    problem_of(op.post("/api/v1/products", json=body), 409, "sku_taken")
    assert op.get("/api/v1/products").json() == before
