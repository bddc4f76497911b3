"""A TCP proxy that puts delay, loss and partitions between an Orderly process and its server.

The kernel here has no netem qdisc (`tc qdisc add ... netem` fails: "Specified qdisc kind is
unknown"), so the faults are made in user space: the process's URL points at the proxy."""

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field

_CHUNK = 64 * 1024
_END = b""  # queued after a stream's last chunk, and forwarded as a half-close

# per direction: (when the chunk may be forwarded, the chunk)
_Queue = asyncio.Queue[tuple[float, bytes]]


@dataclass(eq=False)
class _Link:
    """One client connection and, once it is made, its connection upstream."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] = field(init=False)

    def abort(self) -> None:
        """Close both sockets at once, with a RST rather than a FIN."""
        for writer in (self.client, self.upstream):
            if writer is None:
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # the socket may be closed already (its peer reset it): nothing to reset then
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


class FaultProxy:
    """Forwards 127.0.0.1:listen_port to upstream, with the faults set on it at the moment."""

    def __init__(self, listen_port: int, upstream: tuple[str, int], seed: int = 0) -> None:
        self.listen_port = listen_port
        self.upstream = upstream
        self.counts = dict.fromkeys(("accepted", "cut", "bytes_to_upstream", "bytes_to_client"), 0)
        self._random = random.Random(seed)  # the loss draws
        self._delay = 0.0
        self._loss = 0.0
        self._healed = asyncio.Event()  # set while no partition is on
        self._healed.set()
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._stopped = False

    async def start(self) -> None:
        self._stopped = False
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        self._stopped = True  # a connection accepted but not yet served is refused too
        if self._server is not None:
            self._server.close()
        tasks = [link.task for link in self._links]
        for link in list(self._links):
            link.abort()
            link.task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> "FaultProxy":
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a delay is not negative: {seconds}")
        self._delay = seconds

    def loss(self, fraction: float) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"a loss is a fraction from 0 to 1: {fraction}")
        self._loss = fraction

    def partition(self, on: bool) -> None:
        if on:
            self._healed.clear()
        else:
            self._healed.set()

    def heal(self) -> None:
        self.delay(0)
        self.loss(0)
        self.partition(False)

    def cut_all(self) -> None:
        for link in list(self._links):
            self._cut(link)

    def _cut(self, link: _Link) -> None:
        if link in self._links:  # once, though both directions may draw a loss at once
            self._links.discard(link)
            self.counts["cut"] += 1
            link.abort()
            link.task.cancel()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer)
        if self._stopped:  # accepted by the kernel before the listener closed
            link.abort()
            return
        self._links.add(link)
        self.counts["accepted"] += 1
        # a task of our own, not the stream's: a cut cancels it, and nothing reports that as
        # an error
        link.task = asyncio.create_task(self._serve(link, reader))

    async def _serve(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            # a partitioned path accepts, as the kernel would, but reaches nothing beyond
            await self._healed.wait()
            upstream_reader, link.upstream = await asyncio.open_connection(*self.upstream)
            to_upstream: _Queue = asyncio.Queue()
            to_client: _Queue = asyncio.Queue()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read(reader, to_upstream, link))
                group.create_task(self._read(upstream_reader, to_client, link))
                group.create_task(self._forward(to_upstream, link.upstream, "bytes_to_upstream"))
                group.create_task(self._forward(to_client, link.client, "bytes_to_client"))
        except* OSError:
            link.abort()  # one side reset or refused: the other is reset too, as by a router
        finally:
            self._links.discard(link)
            link.client.close()
            if link.upstream is not None:
                link.upstream.close()

    async def _read(self, reader: asyncio.StreamReader, queue: _Queue, link: _Link) -> None:
        while chunk := await reader.read(_CHUNK):
            if self._random.random() < self._loss:
                # TCP resends what is lost: a lossy path ends in resets and timeouts, not gaps
                self._cut(link)
                return
            queue.put_nowait((asyncio.get_running_loop().time() + self._delay, chunk))
        queue.put_nowait((0.0, _END))

    async def _forward(self, queue: _Queue, writer: asyncio.StreamWriter, counter: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, chunk = await queue.get()
            await asyncio.sleep(due - loop.time())  # the delay itself, not a wait for something
            await self._healed.wait()  # one chunk at a time, so the order is kept while held
            if chunk == _END:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            self.counts[counter] += len(chunk)
            await writer.drain()
