"""Hostile input at the edge: text no database keeps, numbers past 64 bits, bodies over the
limit, and an unexpected error, each answered alike on SQLite and PostgreSQL."""

import asyncio
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import DATABASES
from tests.e2e.server import Server, one_process, stocked
from tests.services import unique
from tests.waiting import eventually

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@pytest.fixture(
    scope="module",
    params=DATABASES,
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One process serving every context, on SQLite or on PostgreSQL (no broker needed)."""
    tmp = tmp_path_factory.mktemp(f"abuse-{request.param}")
    with one_process(tmp, request.param) as running:
        yield running


@pytest.fixture(scope="module")
def op(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=bearer(server.login())) as client:
        yield client


@pytest.fixture(scope="module")
def buyer(server: Server) -> Iterator[httpx.Client]:
    token = server.register_customer()["token"]
    with httpx.Client(base_url=server.url, headers=bearer(token)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def raw_json(client: httpx.Client, path: str, text: str) -> httpx.Response:
    """POST `text` as it is: a JSON body with escapes no JSON encoder here would write."""
    headers = {"content-type": "application/json"}
    return client.post(path, content=text.encode(), headers=headers)


def register_body(
    email: str, first: str = "Casey", password: str = "a long enough password"
) -> str:
    return (
        f'{{"email": "{email}", "password": "{password}",'
        f' "firstName": "{first}", "lastName": "Buyer"}}'
    )


# -- text no database keeps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        pytest.param("GET", "/api/v1/orders/a%00b", None, id="path"),
        pytest.param("GET", "/api/v1/shipments", {"order_id": "a\x00b"}, id="query"),
        pytest.param("GET", "/api/v1/products", {"q": "\x00"}, id="search-query"),
        pytest.param("POST", "/api/v1/orders/a%00b/cancel", None, id="path-of-a-command"),
    ],
)
def test_nul_in_a_path_or_query_is_refused(
    buyer: httpx.Client, method: str, path: str, params: dict[str, str] | None
) -> None:
    problem_of(buyer.request(method, path, params=params), 422, "invalid_character")


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param("\\u0000", id="nul"),
        pytest.param("\\ud800", id="lone-high-surrogate"),
        pytest.param("\\udc00", id="lone-low-surrogate"),
        pytest.param("\\uDBFF\\u0041", id="high-surrogate-then-a-letter"),
    ],
)
def test_nul_or_a_lone_surrogate_in_a_body_is_refused_and_nothing_is_written(
    server: Server, op: httpx.Client, escape: str
) -> None:
    # login and register are open routes: no token needed to reach the database
    login = f'{{"email": "a{escape}@example.com", "password": "x"}}'
    problem_of(raw_json(op, "/api/v1/auth/login", login), 422, "invalid_character")
    email = f"{unique('nul')}@example.com"
    refused = raw_json(op, "/api/v1/auth/register", register_body(email, f"Ca{escape}sey"))
    problem_of(refused, 422, "invalid_character")
    # nothing was written: the same e-mail registers afresh, with another password that
    # then logs in (registration answers alike whether the e-mail was taken or not)
    again = register_body(email, password="another long password")
    assert raw_json(op, "/api/v1/auth/register", again).status_code == 202
    login = {"email": email, "password": "another long password"}
    assert op.post("/api/v1/auth/login", json=login).status_code == 200

    before = op.get("/api/v1/products", params={"limit": 500}).json()
    product = f'{{"name": "Gloves {escape}", "sku": "{unique("NUL")}", "price": "1.00"}}'
    problem_of(raw_json(op, "/api/v1/products", product), 422, "invalid_character")
    assert op.get("/api/v1/products", params={"limit": 500}).json() == before


def test_a_body_that_is_not_utf8_is_malformed_json(op: httpx.Client) -> None:
    body = b'{"name": "Gl\xffoves", "sku": "GLV-1", "price": "1.00"}'
    headers = {"content-type": "application/json"}
    problem_of(op.post("/api/v1/products", content=body, headers=headers), 400, "malformed_json")


def test_an_escaped_surrogate_pair_is_one_character_and_is_kept(op: httpx.Client) -> None:
    sku = unique("BOX")
    created = raw_json(
        op, "/api/v1/products", f'{{"name": "Box \\ud83d\\udce6", "sku": "{sku}", "price": "1.00"}}'
    )
    assert created.status_code == 201, created.text
    assert op.get(f"/api/v1/products/{created.json()['id']}").json()["name"] == "Box \U0001f4e6"


# -- numbers past what the databases hold -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/api/v1/orders", {"offset": "99999999999999999999"}, id="order-offset"),
        pytest.param("/api/v1/orders", {"offset": str(2**63 - 1)}, id="order-offset-int64"),
        pytest.param("/api/v1/orders", {"limit": str(2**64)}, id="order-limit"),
        pytest.param("/api/v1/products", {"offset": str(2**70)}, id="product-offset"),
        pytest.param("/api/v1/shipments", {"limit": "-" + "9" * 30}, id="shipment-limit"),
    ],
)
def test_an_integer_past_64_bits_is_refused(
    buyer: httpx.Client, path: str, params: dict[str, str]
) -> None:
    problem_of(buyer.get(path, params=params), 422, "validation_failed")
    assert buyer.get("/health").status_code == 200  # and the connection is still good


async def test_an_order_past_the_largest_total_is_refused(server: Server) -> None:
    # the largest price, and a quantity that takes the total past ten trillion dollars
    body = {"name": "Gold", "sku": unique("AU"), "price": "1000000000.00", "stock": 20_000}
    order = {"items": [{"quantity": 10_001}], "shipping_address": ADDRESS}
    async with (
        server.client(server.login()) as operator,
        server.client(server.register_customer()["token"]) as buyer,
    ):
        product_id = (await operator.post("/api/v1/products", json=body)).json()["id"]
        order["items"][0]["product_id"] = product_id
        await stocked(buyer, product_id, 20_000)

        async def answered() -> httpx.Response | None:
            placed = await buyer.post("/api/v1/orders", json=order)
            known = placed.json().get("code") != "unknown_product"  # ordering heard of it
            return placed if known else None

        problem_of(await eventually(answered), 422, "order_total_too_large")
        assert (await buyer.get("/api/v1/orders")).json() == []


# -- text longer than its column -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        pytest.param(
            "PUT", f"/api/v1/prices/{'p' * 41}/wac", {"price": "1.00"}, 404, "not_found",
            id="segment-past-any-id",
        ),
        pytest.param(
            "PUT", f"/api/v1/prices/{'p' * 37}/wac", {"price": "1.00"}, 422, "validation_failed",
            id="wac-product-id",
        ),
        pytest.param(
            "PUT", f"/api/v1/prices/{'p' * 37}/340b", {"price": "1.00"}, 422,
            "validation_failed", id="340b-product-id",
        ),
        pytest.param(
            "PUT", f"/api/v1/inventory/shelf-life/{'a' * 37}", {"days": 30}, 422,
            "validation_failed", id="shelf-life-account-id",
        ),
        pytest.param(
            "POST",
            "/api/v1/contracts",
            {
                "name": "C", "kind": "segment", "party": "independent",
                "starts_on": "2026-01-01", "prices": [{"product_id": "p" * 40, "price": "1.00"}],
            },
            422,
            "validation_failed",
            id="contract-product-id",
        ),
    ],
)  # fmt: skip
def test_an_id_longer_than_its_column_is_refused(
    op: httpx.Client, method: str, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    problem_of(op.request(method, path, json=body), status, code)


async def test_an_idempotency_key_longer_than_its_column_is_refused(server: Server) -> None:
    body = {"name": "Gauze", "sku": unique("GZ"), "price": "1.00", "stock": 10}
    order = {"items": [{"quantity": 1}], "shipping_address": ADDRESS}
    async with (
        server.client(server.login()) as operator,
        server.client(server.register_customer()["token"]) as buyer,
    ):
        product_id = (await operator.post("/api/v1/products", json=body)).json()["id"]
        order["items"][0]["product_id"] = product_id
        await stocked(buyer, product_id, 10)

        async def answered() -> httpx.Response | None:
            placed = await buyer.post(
                "/api/v1/orders", json=order, headers={"Idempotency-Key": "k" * 250}
            )
            known = placed.json().get("code") != "unknown_product"  # ordering heard of it
            return placed if known else None

        problem_of(await eventually(answered), 422, "validation_failed")
        assert (await buyer.get("/api/v1/orders")).json() == []


# -- an unexpected error ---------------------------------------------------------------------


def exchange(sock: socket.socket, request: bytes) -> tuple[bytes, bytes]:
    """Send one request on `sock`, read one response: (head, body)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of an answer"
        body += chunk
    return head, body


def get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: orderly\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def drop_payment_methods(server: Server) -> None:
    """A real fault: the table a route reads is gone."""
    url = server.env["ORDERLY_DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///")) / "payments.db"
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE payment_methods")
        return

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TABLE payments.payment_methods")
        finally:
            await conn.close()

    asyncio.run(drop())


def test_after_an_unexpected_error_the_connection_serves_the_next_request(
    server: Server,
) -> None:
    # given a route whose table is gone (this test runs last: no other test reads it)
    token = server.register_customer()["token"]
    drop_payment_methods(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # when it is asked, it answers a 500 problem ...
        head, body = exchange(sock, get("/api/v1/payment-methods", token))
        assert head.startswith(b"HTTP/1.1 500"), head
        assert b"application/problem+json" in head
        assert b'"code":"internal_error"' in body
        # ... and the same connection answers the next request
        head, _ = exchange(sock, get("/health", token))
        assert head.startswith(b"HTTP/1.1 200"), head


# -- bodies over the limit -------------------------------------------------------------------

LIMIT = 1_048_576  # ORDERLY_MAX_BODY_BYTES's default


def post_head(path: str, token: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: orderly\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_a_little_over_the_limit_gets_413_on_a_connection_that_goes_on(
    server: Server,
) -> None:
    token = server.register_customer()["token"]
    size = LIMIT + 1_000_000
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head, body = exchange(sock, post_head("/api/v1/orders", token, size) + b"x" * size)
        assert head.startswith(b"HTTP/1.1 413"), head
        assert b'"code":"payload_too_large"' in body
        assert b"connection: close" not in head.lower()
        head, _ = exchange(sock, get("/health", token))
        assert head.startswith(b"HTTP/1.1 200"), head


def test_an_endless_body_gets_413_and_the_server_stops_reading_it(server: Server) -> None:
    token = server.register_customer()["token"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # a body that claims 10 GiB: the server answers without waiting for it, and closes
        head, body = exchange(sock, post_head("/api/v1/orders", token, 10 * 2**30) + b"x" * 65536)
        assert head.startswith(b"HTTP/1.1 413"), head
        assert b"connection: close" in head.lower()
        assert b'"code":"payload_too_large"' in body
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass  # closed with unread data: the kernel resets, which is a close too


@pytest.mark.parametrize("size", [LIMIT + 1, 3 * LIMIT, 12 * LIMIT], ids=["1MiB", "3MiB", "12MiB"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_an_oversized_body_from_httpx_gets_its_413(
    buyer: httpx.Client, size: int, chunked: bool
) -> None:
    body = b'{"items": [], "pad": "' + b"y" * size + b'"}'

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    content = pieces() if chunked else body
    response = buyer.post(
        "/api/v1/orders", content=content, headers={"content-type": "application/json"}
    )
    problem_of(response, 413, "payload_too_large")
    assert buyer.get("/health").status_code == 200
