"""A real Orderly server in its own process group, driven over HTTP."""

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests import forkserver
from tests.services import create_pg_database, drop_pg_database

OPERATOR_EMAIL = "operator@example.com"
OPERATOR_PASSWORD = "warehouse keys 2026"
CUSTOMER_PASSWORD = "customer password 1"

# The servers speak plain HTTP, but httpx builds a TLS context for every client it makes (about
# 15 ms of CPU, reading the CA bundle), and the tests make clients in their polling loops: every
# client here shares this one.
TLS = ssl.create_default_context()


def reserve_port() -> socket.socket:
    """A socket bound to a free port and kept open: while it is, the kernel hands that port to
    no other socket of any process (another pytest worker's, a client's connection), yet the
    server started on it may still listen there (both set SO_REUSEADDR, and this one never
    listens). Between a port found free and a server listening on it, seconds pass."""
    reservation = socket.socket()
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.bind(("127.0.0.1", 0))
    return reservation


def free_port() -> int:
    """A port nothing listens on, nor will: it stays reserved while this process runs."""
    reservation = reserve_port()
    _reserved.append(reservation)
    return int(reservation.getsockname()[1])


_reserved: list[socket.socket] = []


# The carrier's cut-off half a day from when the tests began: at the default (16:00 UTC) a
# run in the two hours before it saw every open wave go to the floor by itself
# (ORDERLY_WAVE_RELEASE_LEAD), and the warehouse tests' waves released before they could.
FAR_CUTOFF = (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")


class Server:
    def __init__(
        self, env: dict[str, str], log_dir: Path, *, contexts: str = "", relay: bool = True
    ) -> None:
        self._port = reserve_port()  # held for the server's life, restarts and all
        weakref.finalize(self, self._port.close)
        self.port = int(self._port.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ORDERLY_RETRY_BASE_DELAY": "0.05",
            "ORDERLY_POLL_INTERVAL": "0.2",
            "ORDERLY_LOG_LEVEL": "INFO",
            # Test modules register many customers from one address.
            "ORDERLY_REGISTRATION_LIMIT": "100000",
            # nothing real is kept: the cheapest hashes argon2id is allowed here (7 ms, not 150)
            "ORDERLY_PASSWORD_HASH_MEMORY": "8192",
            "ORDERLY_PASSWORD_HASH_PASSES": "1",
            "ORDERLY_CARRIER_CUTOFF": FAR_CUTOFF,
            **env,
        }
        if contexts:
            self.env["ORDERLY_CONTEXTS"] = contexts
        self.relay = relay
        self.log_path = log_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | forkserver.Forked | None = None

    def start(self, *, relay: bool | None = None, fork: bool = forkserver.ENABLED) -> "Server":
        """Start `orderly serve`: forked from the tests' fork server, or (`fork=False`) in an
        interpreter of its own, as an operator starts it."""
        relay = self.relay if relay is None else relay
        args = [sys.executable, "-m", "orderly", "serve", "--port", str(self.port)]
        if not relay:
            args.append("--no-relay")
        with self.log_path.open("ab") as log:
            if fork:
                self.process = forkserver.spawn(args[3:], self.env, log.fileno(), log.fileno())
            else:
                self.process = subprocess.Popen(
                    args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        return self

    def wait_ready(self, timeout: float = 30.0) -> "Server":
        deadline = time.monotonic() + timeout
        with httpx.Client(verify=TLS, timeout=1) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited {self.process.returncode}:\n{self.log()}")
                try:
                    if http.get(f"{self.url}/health").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"server not ready within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """Crash: SIGKILL the whole process group, no shutdown code runs."""
        assert self.process is not None
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)

    def _signal_group(self, number: int) -> None:
        """Signal the server's process group, unless it has ended (a forked server is reaped
        by the fork server at once, and its pid may be handed out again)."""
        assert self.process is not None
        if isinstance(self.process, forkserver.Forked):
            self.process.signal_group(number)
        elif self.process.poll() is None:
            os.killpg(self.process.pid, number)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs.setdefault("verify", TLS)
        return httpx.AsyncClient(base_url=self.url, timeout=10, headers=headers, **kwargs)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `orderly` command against this server's configuration."""
        # tables print whole ids at 250 columns
        return forkserver.orderly(list(args), {**self.env, "COLUMNS": "250"}, timeout=120)

    def create_operator(
        self, email: str = OPERATOR_EMAIL, password: str = OPERATOR_PASSWORD
    ) -> None:
        result = self.cli("users", "create-operator", email, "--password", password)
        assert result.returncode == 0, result.stderr

    def create_account(
        self, account_id: str, admin_email: str, password: str, *registration: str
    ) -> None:
        """A B2B pharmacy account (DEA number from the pharma rules' worked example);
        `registration`: more options of `accounts create` (`--licence-state`, ...)."""
        result = self.cli(
            *("accounts", "create", "--id", account_id, "--name", f"Pharmacy {account_id}"),
            *("--dea", "AP5836727", "--dea-expires", "2099-12-31"),
            *("--dea-schedules", "2,2N,3,3N,4,5", "--state-licence", "PA-RP-001234"),
            *("--schedule-ii", "--admin-email", admin_email, "--admin-password", password),
            *registration,
        )
        assert result.returncode == 0, result.stderr

    def login(self, email: str = OPERATOR_EMAIL, password: str = OPERATOR_PASSWORD) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"email": email, "password": password},
            verify=TLS,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def register_customer(self, password: str = CUSTOMER_PASSWORD) -> dict[str, Any]:
        """A new customer, registered then logged in: {userId, email, token}."""
        email = f"customer-{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": password, "firstName": "Casey", "lastName": "Buyer"}
        response = httpx.post(f"{self.url}/api/v1/auth/register", json=body, verify=TLS)
        assert response.status_code == 202, response.text
        token = self.login(email, password)
        session = httpx.get(
            f"{self.url}/api/v1/auth/session",
            headers={"Authorization": f"Bearer {token}"},
            verify=TLS,
        )
        assert session.status_code == 200, session.text
        return {"userId": session.json()["userId"], "email": email, "token": token}


@contextmanager
def embedded(tmp: Path, **env: str) -> Iterator[Server]:
    """A running embedded server on its own SQLite files, with an operator made beforehand."""
    server = Server(
        {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp / 'var'}", "ORDERLY_BROKER_URL": "", **env}, tmp
    )
    server.create_operator()
    server.start().wait_ready()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def one_process(tmp: Path, database: str, **env: str) -> Iterator[Server]:
    """`embedded`, every context in one process, on SQLite or on a PostgreSQL database of
    its own (no broker needed), dropped afterwards."""
    url = f"sqlite:///{tmp / 'var'}"
    if database == "postgresql":
        url = asyncio.run(create_pg_database())
    try:
        with embedded(tmp, ORDERLY_DATABASE_URL=url, **env) as running:
            yield running
    finally:
        if database == "postgresql":
            asyncio.run(drop_pg_database(url))


async def stocked(client: httpx.AsyncClient, product_id: str, units: int) -> None:
    """Wait until inventory, told of a new product by `product.created`, holds its stock.

    `client` talks to the process serving inventory, with any valid token."""
    from tests.waiting import eventually

    async def holds() -> bool:
        response = await client.post(
            "/api/v1/products/check-availability",
            json={"items": [{"product_id": product_id, "quantity": max(units, 1)}]},
        )
        return response.status_code == 200 and (units == 0 or response.json()["all_available"])

    await eventually(holds)
