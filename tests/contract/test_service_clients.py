"""A request from one of Orderly's services to another, sent on a connection the server has
just closed, goes again once on a new one when it may be repeated, and only then."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from orderly.web.clients import REPEATABLE, service_client


@dataclass
class Flaky:
    """An HTTP server that reads the first request of the test and closes its connection
    without an answer (as a server closing an idle kept-alive connection does); it answers
    every other."""

    url: str
    requests: int = 0
    drop_next: bool = True


@pytest.fixture
async def flaky() -> AsyncIterator[Flaky]:
    state = Flaky("")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                await reader.readexactly(length)
                state.requests += 1
                if state.drop_next:
                    state.drop_next = False
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    async with server:
        yield state


async def test_a_get_on_a_closed_connection_goes_again_once(flaky: Flaky) -> None:
    async with service_client(flaky.url, 5) as client:
        answer = await client.get("/api/v1/things/1")
    assert (answer.status_code, answer.text, flaky.requests) == (200, "ok", 2)


async def test_a_post_goes_again_only_when_marked_repeatable(flaky: Flaky) -> None:
    async with service_client(flaky.url, 5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/api/v1/reservations", json={"units": 1})
        assert flaky.requests == 1  # a request that may have taken effect is not sent again
        flaky.drop_next = True
        answer = await client.post("/api/v1/prices/quotes", json={}, extensions=REPEATABLE)
    assert (answer.status_code, flaky.requests) == (200, 3)
