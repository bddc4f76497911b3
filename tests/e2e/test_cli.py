"""The first run: the `orderly` command in a narrow terminal, as a person runs it (a pty) and
as a script does (a pipe): codes, URIs and ids printed whole, `show` taking the first
characters of an id, and `--json` for programs; and the server's access log. On SQLite and
PostgreSQL, beside a running server."""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from orderly.demo import DEMO_PASSWORD, DEMO_PHARMACIST
from tests import forkserver
from tests.e2e.conftest import DATABASES
from tests.e2e.server import Server, one_process, stocked
from tests.e2e.test_checkout_b2c import place
from tests.e2e.test_operations import publish_status_for_missing_order
from tests.e2e.totp import Authenticator
from tests.services import unique
from tests.waiting import eventually

NARROW = 40
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(
    scope="module",
    params=DATABASES,
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One process serving every context; the commands work in its database. On SQLite it is
    the embedded mode, whose access log is on by default; elsewhere it is turned on."""
    tmp = tmp_path_factory.mktemp(f"cli-{request.param}")
    env = {} if request.param == "sqlite" else {"ORDERLY_ACCESS_LOG": "true"}
    with one_process(tmp, request.param, **env) as running:
        yield running


@pytest.fixture(scope="module")
def operator_token(server: Server) -> str:
    return server.login()


def piped(server: Server, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`orderly ARGS` with its output read by a program, told the terminal is 40 wide."""
    return forkserver.orderly(
        list(args), {**server.env, "COLUMNS": str(NARROW), **env}, timeout=120
    )


def in_terminal(server: Server, *args: str) -> tuple[int, str]:
    """`orderly ARGS` in a 40-column terminal (a pty, where colours are on): its exit code and
    what it showed, escape sequences and all."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, NARROW, 0, 0))
    env = {k: v for k, v in server.env.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        [sys.executable, "-m", "orderly", *args],
        env={**env, "TERM": "xterm-256color"},
        stdin=side,
        stdout=side,
        stderr=side,
    )
    os.close(side)
    shown = bytearray()
    deadline = time.monotonic() + 120
    try:
        while True:
            ready, _, _ = select.select([main], [], [], max(deadline - time.monotonic(), 0))
            assert ready, f"orderly {' '.join(args)} did not finish: {bytes(shown)!r}"
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the command exited and its terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
        code = process.wait(timeout=30)
    return code, shown.decode().replace("\r\n", "\n")


def plain(shown: str) -> str:
    """What a terminal shows, its colours taken out."""
    return ANSI.sub("", shown)


def lines_with(text: str, value: str) -> list[str]:
    return [line for line in text.splitlines() if value in line]


async def guarded_order(server: Server, token: str, product_id: str) -> str:
    """A guarded checkout, placed: its saga's id is the order's."""
    async with server.client(token) as sales:
        body = {
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "tok_visa",
            "channel": "guarded",
        }
        placed = await place(sales, body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "PLACED"
    order_id: str = placed.json()["order_id"]
    return order_id


async def product(server: Server, operator_token: str, stock: int) -> str:
    async with server.client(operator_token) as ops:
        sku = unique("CLI")
        made = await ops.post(
            "/api/v1/products",
            json={"name": f"Product {sku}", "sku": sku, "price": "9.99", "stock": stock},
        )
        assert made.status_code == 201, made.text
        product_id: str = made.json()["id"]
        await stocked(ops, product_id, stock)
    return product_id


async def test_the_mfa_uri_is_printed_whole_and_holds_the_secret(server: Server) -> None:
    loaded = piped(server, "demo", "load")
    assert loaded.returncode == 0, loaded.stderr

    piped_uri = piped(server, "demo", "mfa-code", "--uri")
    assert piped_uri.returncode == 0, piped_uri.stderr
    code, shown = in_terminal(server, "demo", "mfa-code", "--uri")
    assert code == 0, shown

    # one line each time, the same URI, longer than the terminal is wide
    [uri] = lines_with(piped_uri.stdout, "otpauth://")
    assert lines_with(plain(shown), "otpauth://") == [uri]
    assert len(uri) > NARROW
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    [secret] = parse_qs(parsed.query)["secret"]
    assert parse_qs(parsed.query)["issuer"] == ["Orderly"]

    # an authenticator app set up from it signs the pharmacist in
    async with server.client() as anyone:
        login = await anyone.post(
            "/api/v1/auth/login", json={"email": DEMO_PHARMACIST, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        verified = await anyone.post(
            "/api/v1/auth/mfa/verify",
            json={"mfaToken": login.json()["mfaToken"], "code": Authenticator(secret).code()},
        )
    assert verified.status_code == 200, verified.text
    assert verified.json()["token"]


async def test_a_listed_saga_id_is_whole_and_its_first_characters_show_it(
    server: Server, operator_token: str
) -> None:
    customer = server.register_customer()
    order_id = await guarded_order(
        server, customer["token"], await product(server, operator_token, 5)
    )

    listed = piped(server, "sagas", "list")
    assert listed.returncode == 0, listed.stderr
    [row] = lines_with(listed.stdout, order_id[:8])
    printed = UUID.findall(row)
    assert printed == [order_id], row
    code, shown = in_terminal(server, "sagas", "list")
    assert code == 0, shown
    [row] = lines_with(plain(shown), order_id[:8])
    assert UUID.findall(row) == [order_id], row

    # the first characters of the printed id name the saga
    found = piped(server, "sagas", "show", printed[0][:8])
    assert found.returncode == 0, found.stderr
    assert lines_with(found.stdout, f"saga {order_id} (guarded_checkout): completed")
    # each step with what answered it, as JSON
    [reserve] = [line for line in found.stdout.splitlines() if "│ reserve" in line]
    assert '{"event": "inventory.reserved", "event_id": "evt_' in reserve
    code, shown = in_terminal(server, "sagas", "show", order_id[:8])
    assert code == 0, shown
    assert lines_with(plain(shown), f"saga {order_id}")
    whole = piped(server, "sagas", "show", order_id)
    assert whole.returncode == 0, whole.stderr
    assert lines_with(whole.stdout, f"saga {order_id}")


async def test_a_prefix_of_several_ids_or_of_none_is_refused(
    server: Server, operator_token: str
) -> None:
    # given sagas until two ids begin alike (17 at most: ids are hexadecimal)
    token = server.register_customer()["token"]
    stock = await product(server, operator_token, 20)
    ids: dict[str, str] = {}
    while True:
        order_id = await guarded_order(server, token, stock)
        if order_id[0] in ids:
            break
        ids[order_id[0]] = order_id
    twins = sorted([ids[order_id[0]], order_id])

    ambiguous = piped(server, "sagas", "show", order_id[0])
    assert ambiguous.returncode == 1
    assert ambiguous.stdout == ""
    assert f"'{order_id[0]}' starts more than one saga id" in ambiguous.stderr
    candidates = UUID.findall(ambiguous.stderr)
    assert set(twins) <= set(candidates)
    assert all(c.startswith(order_id[0]) for c in candidates)

    # (what was typed is shown as typed, never read as Rich markup)
    unknown = piped(server, "sagas", "show", "[zz]")
    assert unknown.returncode == 1
    assert "no saga id starts with '[zz]'" in unknown.stderr
    no_letter = piped(server, "dead-letters", "show", "zz")
    assert no_letter.returncode == 1
    assert "no dead letter id starts with 'zz'" in no_letter.stderr
    assert piped(server, "dead-letters", "replay", "zz").returncode == 1


def test_an_error_quotes_what_was_given_as_it_was_given(server: Server) -> None:
    refused = piped(server, "migrate", ORDERLY_CONTEXTS="identity,stock[fda]")
    assert refused.returncode == 2
    assert refused.stderr == "error: ORDERLY_CONTEXTS: unknown context(s) stock[fda]\n"


async def test_lists_and_shows_print_json_for_programs(server: Server, operator_token: str) -> None:
    customer = server.register_customer()
    product_id = await product(server, operator_token, 5)
    order_id = await guarded_order(server, customer["token"], product_id)
    async with server.client(customer["token"]) as shopper:
        added = await shopper.post(
            "/api/v1/cart/items", json={"product_id": product_id, "quantity": 2}
        )
        assert added.status_code == 201, added.text

    sagas = document(server, "sagas", "list", "--json")
    [saga] = [s for s in sagas if s["id"] == order_id]
    assert set(saga) == {"id", "kind", "state", "step", "reason", "created_at", "updated_at"}
    assert (saga["kind"], saga["state"]) == ("guarded_checkout", "completed")

    shown = document(server, "sagas", "show", order_id[:8], "--json")
    assert shown["saga_id"] == order_id
    assert [s["name"] for s in shown["steps"]] == ["check", "reserve", "pay"]
    # the API's answers, field for field
    async with server.client(operator_token) as ops:
        listed = (await ops.get("/api/v1/sagas", params={"state": "completed"})).json()
        assert [s for s in listed if s["id"] == order_id] == [saga]
        assert (await ops.get(f"/api/v1/sagas/{order_id}")).json() == shown
    # in a terminal too, with no colour codes in it
    code, in_colour = in_terminal(server, "sagas", "show", order_id[:8], "--json")
    assert code == 0, in_colour
    assert "\x1b" not in in_colour
    assert json.loads(in_colour) == shown

    [hold] = document(server, "holds", "list", product_id, "--json")
    assert (hold["customer_id"], hold["quantity"]) == (customer["userId"], 2)

    outbox = document(server, "outbox", "status", "--json")
    assert "ordering" in [c["context"] for c in outbox]


async def test_a_dead_letter_is_named_by_the_first_characters_of_its_id(server: Server) -> None:
    # given a message no consumer can handle (a delivery update for an order never made)
    message_id = await publish_status_for_missing_order(server)

    async def dead_lettered() -> dict[str, Any] | None:
        letters = document(server, "dead-letters", "list", "--json")
        return next((x for x in letters if x["message_id"] == message_id), None)

    letter = await eventually(dead_lettered, within=30)
    assert set(letter) == {
        *("id", "context", "consumer", "message_id", "type"),
        *("attempts", "error", "failed_at", "replayed_at"),
    }
    listed = piped(server, "dead-letters", "list")
    assert [letter["id"]] == UUID.findall("\n".join(lines_with(listed.stdout, letter["id"][:8])))

    shown = document(server, "dead-letters", "show", letter["id"][:6], "--json")
    assert (shown["id"], shown["message"]["data"]["order_id"]) == (letter["id"], "ghost-order")
    replayed = piped(server, "dead-letters", "replay", letter["id"][:6])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith(f"replayed {letter['id']} to ")


def document(server: Server, *args: str) -> Any:
    """The JSON document a command prints."""
    printed = piped(server, *args)
    assert printed.returncode == 0, printed.stderr
    return json.loads(printed.stdout)


async def test_the_server_logs_each_request_in_one_line(
    server: Server, operator_token: str
) -> None:
    # when an operator asks for an order that is not there, its id and a query in the URL
    missing = unique("no-such-order")
    async with server.client(operator_token) as ops:
        answered = await ops.get(f"/api/v1/orders/{missing}", params={"secret": "s3cr3t"})
    assert answered.status_code == 404

    # then one line tells the method, the path, the status and how long it took
    async def logged() -> list[dict[str, Any]]:
        lines = server.log_path.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if missing in line]

    [line] = await eventually(logged)
    assert line["event"] == "request"
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        f"/api/v1/orders/{missing}",
        404,
    )
    assert isinstance(line["ms"], float)
    assert line["ms"] >= 0
    # and nothing the request carried: no query string, no token
    assert "s3cr3t" not in json.dumps(line)
    assert operator_token not in server.log_path.read_text(errors="replace")
