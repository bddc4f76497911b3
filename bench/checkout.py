"""End-to-end B2C checkouts (seed 002 Flow 3) through real servers: from the request to the
order's terminal state (`processing`, paid), embedded and distributed, and the same checkout
written with DBOS (`bench/dbos_peer.py`), driven by the same client through the same endpoints.

The rate: 32 clients send checkouts as fast as they are answered, and the run ends when the
last order is paid. The latencies: checkouts offered at half that rate; each one's time from
its request being sent to the order recording `processing` (the same machine's clock, so
nothing polls while the load runs), and the POST's own response time.
"""

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.dbos_peer import AUDIENCE
from tests.conftest import Backend
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.server import free_port
from tests.services import AMQP_URL, create_pg_database, drop_pg_database, unique
from tests.waiting import eventually

CLIENTS = 32
# Each context's PostgreSQL pool as a deployment has it (the tests keep theirs small).
BENCH_POOL = {"ORDERLY_DATABASE_POOL_SIZE": "10"}
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


@dataclass(frozen=True)
class Target:
    """Where the client sends its requests, and as whom."""

    sales_url: str
    catalog_url: str
    customer_token: str
    operator_token: str
    more_sales_urls: tuple[str, ...] = ()  # more processes serving ordering: placed round-robin


@dataclass(frozen=True)
class Checkouts:
    rate: float  # checkouts/s, request to terminal state
    p50_ms: float  # request to paid, at half `rate`
    p99_ms: float
    place_p99_ms: float  # the POST alone, at half `rate`
    paced_from: float = 0.0  # when the checkouts at half `rate` began (seconds since the epoch)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * q) - 1, 0)] * 1000


def _orderly(deployed: Deployment) -> Target:
    return Target(
        deployed.ordering.url,
        deployed.catalog.url,
        deployed.customer()["token"],
        deployed.operator_token,
    )


async def _run(target: Target, n: int) -> Checkouts:
    sales_url = target.sales_url
    customer = {"Authorization": f"Bearer {target.customer_token}"}
    operator = {"Authorization": f"Bearer {target.operator_token}"}
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(
            f"{target.catalog_url}/api/v1/products",
            json={"name": "Bench", "sku": unique("B2C"), "price": "1.00", "stock": n * 20},
            headers=operator,
        ) as response:
            product_id = (await response.json())["id"]
        body = {
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment_method": "tok_visa",
            "channel": "b2c",
        }
        sent: dict[str, float] = {}
        places = [f"{url}/api/v1/orders" for url in (sales_url, *target.more_sales_urls)]
        turn = 0

        async def place() -> float:
            nonlocal turn
            turn += 1
            started = time.perf_counter()
            wall = time.time()
            async with session.post(
                places[turn % len(places)], json=body, headers=customer
            ) as response:
                answer = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"checkout answered {response.status}: {answer}")
            sent[answer["order_id"]] = wall
            return time.perf_counter() - started

        async def known() -> bool:  # ordering has heard of the product
            async with session.post(
                f"{sales_url}/api/v1/orders", json=body, headers=customer
            ) as response:
                return response.status == 201

        await eventually(known, within=60)

        async def hammer(total: int) -> None:
            remaining = total

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await place()

            await asyncio.gather(*(worker() for _ in range(CLIENTS)))

        await hammer(CLIENTS)  # warm up
        await _all_processing(session, sales_url, customer, list(sent))
        sent.clear()
        await hammer(n)
        ends = await _all_processing(session, sales_url, customer, list(sent), sent)
        rate = n / (
            max(s + e for s, e in zip(sent.values(), ends, strict=True)) - min(sent.values())
        )

        # at half that rate: each checkout's time to paid, and the POST's response time
        sent.clear()
        paced_from = time.time()
        paced = [0.0] * min(n, max(int(rate * 10), 1))
        interval = 2 / rate
        started = time.perf_counter()

        async def at(i: int) -> None:
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            paced[i] = await place()

        await asyncio.gather(*(at(i) for i in range(len(paced))))
        latencies = await _all_processing(session, sales_url, customer, list(sent), sent)
    return Checkouts(
        rate=rate,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_pct(latencies, 0.99),
        place_p99_ms=_pct(paced, 0.99),
        paced_from=paced_from,
    )


async def get_json(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
    """GET `url`'s JSON, once more on a connection that was closed as it was reused (a
    keep-alive connection the server let go the moment the client sent on it)."""
    for attempt in (1, 2):
        try:
            async with session.get(url, **kwargs) as response:
                return await response.json()
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _all_processing(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    orders: list[str],
    sent: dict[str, float] | None = None,
) -> list[float]:
    """Wait until every order is `processing`; each one's seconds from request to then.

    Reads the customer's order list (newest first, so the awaited orders fill the first pages)
    twice a second, not each order: the wait adds little to the load of the servers still
    working off their backlog, and how often it looks changes no figure, since each order's
    time comes from the order itself. A B2C order's `updated_at` is when it became
    `processing`, its last change."""
    waiting = set(orders)
    paid_at: dict[str, float] = {}
    deadline = time.monotonic() + 600
    while waiting:
        for offset in range(0, len(orders), 500):
            page: list[dict[str, Any]] = await get_json(
                session,
                f"{url}/api/v1/orders",
                params={"limit": 500, "offset": offset},
                headers=headers,
            )
            for order in page:
                order_id = order["order_id"]
                if order_id not in waiting:
                    continue
                if order["status"] == "cancelled":
                    raise RuntimeError(f"order {order_id} was cancelled")
                if order["status"] == "processing":
                    waiting.discard(order_id)
                    at = order["updated_at"].replace("Z", "+00:00")
                    paid_at[order_id] = datetime.fromisoformat(at).timestamp()
        if waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(waiting)} orders were not paid within 600 s")
            await asyncio.sleep(0.5)
    if sent is None:
        return []
    return [paid_at[order_id] - sent[order_id] for order_id in orders]


async def embedded(n: int) -> Checkouts:
    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend("embedded", f"sqlite:///{tmp}/var", "", unique("bench"))
        deployed = deploy(backend, Path(tmp), ORDERLY_LOG_LEVEL="WARNING", **BENCH_POOL)
        try:
            return await _run(_orderly(deployed), n)
        finally:
            for server in deployed.servers:
                server.stop()


async def distributed(n: int) -> Checkouts:
    url = await create_pg_database()
    namespace = unique("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backend = Backend("distributed", url, AMQP_URL, namespace)
            deployed = deploy(backend, Path(tmp), ORDERLY_LOG_LEVEL="WARNING", **BENCH_POOL)
            try:
                return await _run(_orderly(deployed), n)
            finally:
                for server in deployed.servers:
                    server.stop()
    finally:
        await drop_pg_database(url)
        from orderly.bootstrap import topology
        from orderly.config import Settings
        from orderly.messaging.transports.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, namespace, topology(Settings()))


async def peer(kind: str, n: int) -> Checkouts:
    """The DBOS version of the checkout, in a server of its own, on the same kind of database,
    measured by the same client as Orderly's."""
    with tempfile.TemporaryDirectory() as tmp:
        url = await create_pg_database() if kind == "postgresql" else f"sqlite:///{tmp}/peer.db"
        try:
            return await _peer(Path(tmp), url, n)
        finally:
            if kind == "postgresql":
                await drop_pg_database(url)


async def _peer(tmp: Path, url: str, n: int) -> Checkouts:
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp / "peer-key.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    def token(role: str) -> str:
        claims = {
            "sub": str(uuid.uuid4()),
            "role": role,
            "aud": AUDIENCE,
            "exp": time.time() + 3600,
        }
        return jwt.encode(claims, key, algorithm="ES256")

    port = free_port()
    log = tmp / "peer.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.dbos_peer",
            str(port),
            str(public),
            url,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                if process.returncode is not None:
                    raise RuntimeError(f"the DBOS peer exited: {log.read_text()[-2000:]}")
                try:
                    async with session.get(f"{base}/health") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(ready, within=60)
        try:
            return await _run(Target(base, base, token("customer"), token("operator")), n)
        except Exception as error:
            raise RuntimeError(f"the DBOS peer failed: {log.read_text()[-3000:]}") from error
    finally:
        process.terminate()
        await process.wait()
