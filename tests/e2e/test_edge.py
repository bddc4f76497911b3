"""What `serve` guards before the application: whose address a request has, how large its
head may be, and who may read the data files it writes."""

import contextlib
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orderly.identity.throttle import LIMITS
from tests.e2e.server import Server, embedded
from tests.services import unique

FORWARDED = "203.0.113.9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Default settings: no proxy is trusted, heads up to 16 KiB."""
    with embedded(tmp_path_factory.mktemp("edge")) as running:
        yield running


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that trusts the proxy on loopback."""
    with embedded(
        tmp_path_factory.mktemp("edge-proxy"), ORDERLY_TRUSTED_PROXIES="127.0.0.1"
    ) as running:
        yield running


def data_dir(server: Server) -> Path:
    return Path(server.env["ORDERLY_DATABASE_URL"].removeprefix("sqlite:///"))


def failed_login(server: Server, email: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": email, "password": "not the password"},
        headers={"X-Forwarded-For": forwarded_for},
    )


def audited_clients(server: Server, email: str) -> set[str]:
    """The addresses identity's audit of login attempts recorded for `email`."""
    with sqlite3.connect(data_dir(server) / "identity.db") as conn:
        rows = conn.execute("SELECT client FROM auth_events WHERE email = ?", (email,))
        return {client for (client,) in rows}


# -- forwarded headers -----------------------------------------------------------------------


def test_by_default_x_forwarded_for_does_not_change_the_address(server: Server) -> None:
    email = f"{unique('xff')}@example.com"
    assert failed_login(server, email, FORWARDED).status_code == 401
    assert audited_clients(server, email) == {"127.0.0.1"}


def test_rotating_x_forwarded_for_does_not_escape_the_login_throttle(server: Server) -> None:
    email = f"{unique('xff')}@example.com"
    for n in range(LIMITS["pair"]):  # failures for one e-mail from one address
        assert failed_login(server, email, f"198.51.100.{n + 1}").status_code == 401
    assert failed_login(server, email, "198.51.100.200").status_code == 429
    assert audited_clients(server, email) == {"127.0.0.1"}


def test_a_trusted_proxy_names_the_client(behind_proxy: Server) -> None:
    email = f"{unique('xff')}@example.com"
    assert failed_login(behind_proxy, email, FORWARDED).status_code == 401
    assert audited_clients(behind_proxy, email) == {FORWARDED}


# -- request heads ---------------------------------------------------------------------------


def answer_to(server: Server, request: bytes) -> bytes:
    """Everything the server sends back before it closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # refused before it was all sent, the answer is read all the same
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # closed with unread data: what was read is the answer
        return received


def head_with(*headers: str) -> bytes:
    lines = "".join(f"{header}\r\n" for header in headers)
    return f"GET /health HTTP/1.1\r\nHost: orderly\r\n{lines}Connection: close\r\n\r\n".encode()


def assert_431(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"content-type: application/problem+json" in head
    assert b'"code":"header_fields_too_large"' in body


def test_a_head_within_the_bound_is_served(server: Server) -> None:
    headers = [f"X-Note-{n}: {'n' * 100}" for n in range(90)]  # about 10 KiB in 92 headers
    assert answer_to(server, head_with(*headers)).startswith(b"HTTP/1.1 200")


def test_too_many_headers_get_431(server: Server) -> None:
    assert_431(answer_to(server, head_with(*(f"X-Note-{n}: n" for n in range(101)))))


def test_a_header_too_large_gets_431(server: Server) -> None:
    assert_431(answer_to(server, head_with(f"X-Big: {'b' * 20_000}")))
    response = httpx.get(f"{server.url}/health", headers={"X-Big": "b" * 20_000})
    assert response.status_code == 431
    assert response.json()["code"] == "header_fields_too_large"


def test_a_header_that_never_ends_is_refused_before_it_ends(server: Server) -> None:
    # 4 MiB of one header value and no line end: the server must not keep gathering it
    endless = b"GET /health HTTP/1.1\r\nHost: orderly\r\nX-Endless: " + b"e" * (4 * 2**20)
    assert_431(answer_to(server, endless))


def test_a_request_the_parser_refuses_gets_a_problem(server: Server) -> None:
    answer = answer_to(server, b"GET /health HTTP/1.1\r\nHost: orderly\r\nX-Nul: a\x00b\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"content-type: application/problem+json" in head
    assert b'"code":"malformed_request"' in body


# -- data files ------------------------------------------------------------------------------


def modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


def test_data_files_are_private_to_their_owner(server: Server) -> None:
    folder = data_dir(server)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = modes(folder)
    assert {"identity.db", "identity.db-wal", "identity.db-shm"} <= files.keys()
    assert set(files.values()) == {0o600}, files


def test_data_files_left_readable_are_made_private_again(tmp_path: Path) -> None:
    server = Server({"ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}"}, tmp_path)
    server.create_operator()  # the command migrates: the files exist now
    folder = data_dir(server)
    for path in folder.iterdir():
        path.chmod(0o644)  # as an earlier version left them
    server.start().wait_ready()
    try:
        files = modes(folder)
    finally:
        server.stop()
    assert "identity.db" in files
    assert set(files.values()) == {0o600}, files
