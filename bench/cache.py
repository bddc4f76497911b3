"""Order reads through the read cache (docs/cache.md), beside the same reads with the cache off,
measured in the same run: `GET /api/v1/orders/{id}` by a customer over 50 of its paid B2C orders,
from 32 clients as fast as they are answered.

Embedded, two deployments made alike (one process each, SQLite), one with the cache in its
memory and one with `ORDERLY_CACHE_URL=off`. Distributed, one deployment (PostgreSQL, RabbitMQ)
whose processes share Redis, and a second ordering process on the same databases with the
cache off: the same orders read through either. Each is measured `ROUNDS` times in turn,
after a warm-up, and its faster round kept; the hit rate is the cached round's, from the
process's own `orderly_cache_requests_total`.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.bff import (
    CLIENTS,
    Rate,
    Request,
    _measure,
    _paid_orders,
    _products,
    _read,
    hits_and_misses,
)
from bench.checkout import BENCH_POOL
from tests.conftest import Backend
from tests.contract.test_cache import REDIS_URL
from tests.e2e.conftest import Deployment, deploy
from tests.e2e.server import Server
from tests.services import AMQP_URL, create_pg_database, drop_pg_database, unique

ROUNDS = 2
WARM_UP = 300
OFF = {"ORDERLY_CACHE_URL": "off"}


@dataclass(frozen=True)
class Figures:
    cached: Rate
    uncached: Rate  # the peer: the same reads, the cache off
    hit_rate: float  # of the cached round kept


@dataclass(frozen=True)
class Side:
    server: Server  # where the orders are read
    token: str  # the customer's
    orders: list[str]
    operator: str  # who may read the process's /metrics


async def _orders_of_a_customer(deployed: Deployment) -> tuple[str, list[str]]:
    token = deployed.customer()["token"]
    products = [product_id for product_id, _ in await _products(deployed)]
    return token, await _paid_orders(deployed.ordering, token, products)


def _reading(side: Side) -> Request:
    headers = {"Authorization": f"Bearer {side.token}"}

    async def read(session: aiohttp.ClientSession, number: int) -> None:
        url = f"{side.server.url}/api/v1/orders/{side.orders[number % len(side.orders)]}"
        async with session.get(url, headers=headers) as response:
            await _read(response)

    return read


async def _run(cached: Side, uncached: Side, n: int) -> Figures:
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        best: dict[str, Rate] = {}
        hit_rate = 0.0
        for _ in range(ROUNDS):
            await _measure(session, WARM_UP, _reading(cached))
            hits, misses = await hits_and_misses(
                session, cached.server.url, cached.operator, "orders"
            )
            measured = await _measure(session, n, _reading(cached))
            after = await hits_and_misses(session, cached.server.url, cached.operator, "orders")
            if "cached" not in best or measured.rate > best["cached"].rate:
                best["cached"] = measured
                lookups = (after[0] - hits) + (after[1] - misses)
                hit_rate = (after[0] - hits) / lookups if lookups else 0.0
            await _measure(session, WARM_UP, _reading(uncached))
            measured = await _measure(session, n, _reading(uncached))
            if "uncached" not in best or measured.rate > best["uncached"].rate:
                best["uncached"] = measured
    return Figures(best["cached"], best["uncached"], hit_rate)


async def embedded(n: int) -> Figures:
    """Two embedded deployments, made alike: the cache in memory, and none."""
    with tempfile.TemporaryDirectory() as tmp:
        made: list[Deployment] = []
        try:
            for name, settings in (("cached", {}), ("uncached", OFF)):
                folder = Path(tmp) / name
                folder.mkdir()
                backend = Backend("embedded", f"sqlite:///{folder}/var", "", unique("bench"))
                made.append(
                    deploy(backend, folder, ORDERLY_LOG_LEVEL="WARNING", **BENCH_POOL, **settings)
                )
            sides = []
            for deployed in made:
                token, orders = await _orders_of_a_customer(deployed)
                sides.append(Side(deployed.ordering, token, orders, deployed.operator_token))
            return await _run(sides[0], sides[1], n)
        finally:
            for deployed in made:
                for server in deployed.servers:
                    server.stop()


async def distributed(n: int) -> Figures:
    """One deployment on Redis, and a second ordering process beside it with the cache off."""
    url = await create_pg_database()
    namespace = unique("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backend = Backend("distributed", url, AMQP_URL, namespace)
            settings = {"ORDERLY_CACHE_URL": REDIS_URL, "ORDERLY_LOG_LEVEL": "WARNING"}
            deployed = deploy(backend, Path(tmp), **settings, **BENCH_POOL)
            uncached = Server({**deployed.ordering.env, **OFF}, Path(tmp))
            try:
                uncached.start().wait_ready()
                token, orders = await _orders_of_a_customer(deployed)
                operator = deployed.operator_token
                return await _run(
                    Side(deployed.ordering, token, orders, operator),
                    Side(uncached, token, orders, operator),
                    n,
                )
            finally:
                uncached.stop()
                for server in deployed.servers:
                    server.stop()
    finally:
        await drop_pg_database(url)
        from orderly.bootstrap import topology
        from orderly.config import Settings
        from orderly.messaging.transports.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, namespace, topology(Settings()))
