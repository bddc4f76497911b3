"""Seed 001 through a real embedded server: orders accepted and handed on to delivery."""

import asyncio
import io
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from tests.e2e.server import CUSTOMER_PASSWORD, Server
from tests.waiting import eventually

CLIENTS = 32
ROUNDS = 3
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}

Request = Callable[[aiohttp.ClientSession], Awaitable[None]]


async def _hammer(session: aiohttp.ClientSession, total: int, request: Request) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await request(session)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return total / (time.perf_counter() - started)


async def _health(session: aiohttp.ClientSession) -> None:
    async with session.get("/health") as response:
        response.raise_for_status()
        await response.read()


async def _published(session: aiohttp.ClientSession, operator: dict[str, str]) -> int:
    async with session.get("/api/v1/admin/outbox", headers=operator) as response:
        rows = await response.json()
    return sum(int(row["published"]) for row in rows if row["context"] == "ordering")


async def _all_published(
    session: aiohttp.ClientSession, orders: int, operator: dict[str, str]
) -> bool:
    return await _published(session, operator) >= orders


async def _published_eventually(session: aiohttp.ClientSession, operator: dict[str, str]) -> int:
    """Once the probe order's message is out: how many ordering has published."""

    async def out() -> int | None:
        return await _published(session, operator) or None

    found: int = await eventually(out, within=60)
    return found


# The last revision whose direct flow checked availability without holding the stock: the
# seed 001 figure is printed beside it, measured in the same run.
BEFORE_HOLDS = "5c5ff8b"


def checkout_of(revision: str, into: Path) -> Path:
    """The `src` tree of `revision`, written under `into` (for a server of that version)."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


async def seed001_before_after(orders: int, rounds: int = 2) -> tuple[float, float]:
    """Seed 001 orders/s of this version and of `BEFORE_HOLDS`, interleaved, best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        before_src = checkout_of(BEFORE_HOLDS, Path(tmp))
        now = before = 0.0
        for _ in range(rounds):
            before = max(before, (await seed001_orders(orders, source=before_src))[0])
            now = max(now, (await seed001_orders(orders))[0])
    return now, before


def _customer(server: Server) -> str:
    """A new customer's token, from this version (registration answers 202 and no token)
    or an earlier one (201)."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": CUSTOMER_PASSWORD, "firstName": "B", "lastName": "B"}
    response = httpx.post(f"{server.url}/api/v1/auth/register", json=body)
    assert response.status_code in (201, 202), response.text
    return server.login(email, CUSTOMER_PASSWORD)


async def seed001_orders(orders: int, source: Path | None = None) -> tuple[float, float, float]:
    """Against one embedded server (of the code in `source`, by default this checkout's):
    (orders/s accepted and consumed by delivery and catalog, GET /health req/s,
    authenticated GET /api/v1/auth/session req/s)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "ORDERLY_DATABASE_URL": f"sqlite:///{tmp}/var",
            "ORDERLY_BROKER_URL": "",
            "ORDERLY_LOG_LEVEL": "WARNING",
        }
        if source is not None:
            env["PYTHONPATH"] = str(source)
        server = Server(env, Path(tmp))
        server.create_operator()
        server.start().wait_ready()
        try:
            operator = {"Authorization": f"Bearer {server.login()}"}
            customer = {"Authorization": f"Bearer {_customer(server)}"}
            connector = aiohttp.TCPConnector(limit=CLIENTS)
            async with aiohttp.ClientSession(server.url, connector=connector) as session:

                async def whoami(s: aiohttp.ClientSession) -> None:
                    async with s.get("/api/v1/auth/session", headers=customer) as response:
                        response.raise_for_status()
                        await response.read()

                # Interleaved rounds, best of each: the machine's noise hits both alike.
                health = authenticated = 0.0
                for _ in range(ROUNDS):
                    health = max(health, await _hammer(session, orders, _health))
                    authenticated = max(authenticated, await _hammer(session, orders, whoami))
                product = {"name": "Bench", "sku": "BENCH-1", "price": "1.00", "stock": orders * 10}
                async with session.post(
                    "/api/v1/products", json=product, headers=operator
                ) as response:
                    product_id = (await response.json())["id"]
                body = {
                    "items": [{"product_id": product_id, "quantity": 1}],
                    "shipping_address": ADDRESS,
                }

                async def place(s: aiohttp.ClientSession) -> None:
                    async with s.post("/api/v1/orders", json=body, headers=customer) as response:
                        response.raise_for_status()
                        await response.read()

                async def known() -> bool:  # ordering has heard of the product
                    async with session.post(
                        "/api/v1/orders", json=body, headers=customer
                    ) as response:
                        return response.status == 201

                await eventually(known, within=60)
                probe = await _published_eventually(session, operator)
                started = time.perf_counter()
                await _hammer(session, orders, place)
                # published is marked only once every in-process consumer has committed
                await eventually(
                    lambda: _all_published(session, probe + orders, operator), within=600
                )
                flow = orders / (time.perf_counter() - started)
        finally:
            server.stop()
    return flow, health, authenticated
