"""The fault proxy, between real clients and the real PostgreSQL and RabbitMQ."""

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import aio_pika
import aiormq
import asyncpg
import pytest

from chaos.proxy import FaultProxy
from tests.services import AMQP_URL, PG_ADMIN_URL

pytestmark = pytest.mark.distributed

# long enough for a query that is answered in about a millisecond to have been answered
HELD = 0.5
SETTLED = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def upstream_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def through(proxy: FaultProxy, url: str) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{credentials}@127.0.0.1:{proxy.listen_port}").geturl()


@dataclass
class Echo:
    """A server on a free port that sends back what it is sent."""

    port: int = 0
    connections: int = 0


@asynccontextmanager
async def echo() -> AsyncIterator[Echo]:
    made = Echo()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        made.connections += 1
        with contextlib.suppress(ConnectionResetError):
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
        writer.close()

    async with await asyncio.start_server(serve, "127.0.0.1", 0) as server:
        made.port = int(server.sockets[0].getsockname()[1])
        yield made


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    async with FaultProxy(free_port(), upstream_of(PG_ADMIN_URL), seed=1) as started:
        yield started


@pytest.fixture
async def connection(proxy: FaultProxy) -> AsyncIterator[asyncpg.Connection]:
    connected = await asyncpg.connect(through(proxy, PG_ADMIN_URL))
    try:
        yield connected
    finally:
        connected.terminate()


async def test_a_query_through_the_proxy_is_answered_and_counted(
    proxy: FaultProxy, connection: asyncpg.Connection
) -> None:
    assert await connection.fetchval("SELECT 1") == 1
    assert proxy.counts["accepted"] == 1
    assert proxy.counts["cut"] == 0
    assert proxy.counts["bytes_to_upstream"] > 0
    assert proxy.counts["bytes_to_client"] > 0


async def test_a_delay_holds_each_chunk_each_way(
    proxy: FaultProxy, connection: asyncpg.Connection
) -> None:
    proxy.delay(0.1)
    started = time.monotonic()
    assert await connection.fetchval("SELECT 1") == 1
    # the query one way and its answer the other: at least two delays
    assert time.monotonic() - started >= 0.2


async def test_a_partition_holds_a_query_until_it_heals(
    proxy: FaultProxy, connection: asyncpg.Connection
) -> None:
    # given a partition
    proxy.partition(True)
    sent = proxy.counts["bytes_to_upstream"]
    query = asyncio.ensure_future(connection.fetchval("SELECT 42"))
    # then the query is not answered, nor does it reach the server
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(query), HELD)
    assert proxy.counts["bytes_to_upstream"] == sent
    # when it heals, the held bytes flow and the query is answered
    proxy.heal()
    assert await asyncio.wait_for(query, SETTLED) == 42


async def test_a_partition_holds_a_new_connection_until_it_heals(proxy: FaultProxy) -> None:
    proxy.partition(True)
    connecting = asyncio.ensure_future(asyncpg.connect(through(proxy, PG_ADMIN_URL)))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(connecting), HELD)
    assert proxy.counts["accepted"] == 1
    assert proxy.counts["bytes_to_upstream"] == 0
    proxy.heal()
    connected = await asyncio.wait_for(connecting, SETTLED)
    try:
        assert await connected.fetchval("SELECT 1") == 1
    finally:
        connected.terminate()


async def test_a_partition_connects_a_new_connection_upstream_only_when_it_heals() -> None:
    async with echo() as upstream, FaultProxy(free_port(), ("127.0.0.1", upstream.port)) as proxy:
        proxy.partition(True)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        try:
            writer.write(b"ping")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(4), HELD)
            assert upstream.connections == 0
            proxy.heal()
            assert await asyncio.wait_for(reader.read(4), SETTLED) == b"ping"
            assert upstream.connections == 1
        finally:
            writer.close()


async def test_cut_all_breaks_the_open_connections_but_not_new_ones(
    proxy: FaultProxy, connection: asyncpg.Connection
) -> None:
    assert await connection.fetchval("SELECT 1") == 1
    proxy.cut_all()
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        await connection.fetchval("SELECT 1")
    assert proxy.counts["cut"] == 1
    again = await asyncpg.connect(through(proxy, PG_ADMIN_URL))
    try:
        assert await again.fetchval("SELECT 1") == 1
    finally:
        again.terminate()


async def test_a_cut_is_a_reset_not_an_orderly_close() -> None:
    async with echo() as upstream, FaultProxy(free_port(), ("127.0.0.1", upstream.port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        try:
            writer.write(b"ping")
            assert await asyncio.wait_for(reader.read(4), SETTLED) == b"ping"
            proxy.cut_all()
            # a FIN would read as the end of the stream, b""
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(reader.read(1), SETTLED)
        finally:
            writer.close()


async def test_a_loss_of_one_cuts_the_connection_on_its_first_chunk(proxy: FaultProxy) -> None:
    proxy.loss(1.0)
    with pytest.raises(ConnectionResetError):
        await asyncpg.connect(through(proxy, PG_ADMIN_URL))
    assert proxy.counts == {"accepted": 1, "cut": 1, "bytes_to_upstream": 0, "bytes_to_client": 0}


async def test_the_same_seed_loses_the_same_chunks() -> None:
    async def chunks_until_cut(seed: int) -> int:
        async with (
            echo() as upstream,
            FaultProxy(free_port(), ("127.0.0.1", upstream.port), seed) as proxy,
        ):
            proxy.loss(0.3)
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
            try:
                for sent in range(1000):
                    writer.write(b"ping")  # one chunk, answered before the next is sent
                    if await asyncio.wait_for(reader.read(4), SETTLED) != b"ping":
                        return sent
                raise AssertionError("a loss of 0.3 cut nothing in a thousand round trips")
            except ConnectionResetError:
                return sent
            finally:
                writer.close()

    assert await chunks_until_cut(7) == await chunks_until_cut(7)
    assert len({await chunks_until_cut(seed) for seed in range(8)}) > 1


async def test_rabbitmq_through_the_proxy_and_cut() -> None:
    async with FaultProxy(free_port(), upstream_of(AMQP_URL)) as broker:
        connection = await aio_pika.connect(through(broker, AMQP_URL))
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            await channel.default_exchange.publish(aio_pika.Message(b"hi"), queue.name)
            assert (await queue.get(timeout=SETTLED)).body == b"hi"
            broker.cut_all()
            with pytest.raises(aiormq.exceptions.AMQPConnectionError):
                await channel.declare_queue(exclusive=True)
        finally:
            await connection.close()
    assert broker.counts["accepted"] == 1
    assert broker.counts["cut"] == 1
