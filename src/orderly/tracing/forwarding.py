"""OTLP export from a process of its own: a server's event loop hands each batch of ended
spans over a pipe, and a child process (`python -m orderly.entrypoints.spans`) encodes them
as protobuf and posts them to the collector (`export.Otlp`).

Encoding a span and posting it from the event loop had been two fifths of what tracing cost
a checkout (docs/performance.md, "Tracing"); `marshal` writes a span for the pipe in a tenth
of the encoder's time, and the child's work runs on another core. The child ends when the
pipe does: once its parent has sent what was waiting as it stops, or when the parent dies.
A child that died is started again with the next batch, at most once a second; meanwhile,
and for a batch marshal cannot write, the parent posts the batch itself. While the pipe is
full (a collector that cannot keep up), batches are dropped and counted, as the queue drops
spans.
"""

import asyncio
import marshal
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson
import structlog

from orderly.tracing import Ended
from orderly.tracing.export import IN_FLIGHT, Otlp

log = structlog.get_logger(__name__)

# bytes written to the pipe and not yet read by the child, past which a batch is dropped
PIPE_LIMIT = 16 * 1024 * 1024
RESTART_AFTER = 1.0  # seconds: a child that keeps dying is started at most this often
STOP_WITHIN = 10.0  # seconds the child has to send what it was handed once the pipe closes
_LENGTH = 4  # a frame: its length (big-endian), then marshal's (service, spans)
SETTINGS = "ORDERLY_SPANS_EXPORT"  # the child's endpoint, headers and timeout, as JSON


class Forwarding:
    """The OTLP exporter of a server: `send` hands a batch to the child, `export` (spans
    left when the event loop is gone) posts from this process."""

    def __init__(self, endpoint: str, headers: dict[str, str], timeout: float = 10.0) -> None:
        self.here = Otlp(endpoint, headers, timeout)
        # what the child needs, in its environment: a command line is anyone's to read, and
        # an endpoint or a header may hold a credential
        self._settings = orjson.dumps(
            {"endpoint": endpoint, "headers": headers, "timeout": timeout}
        ).decode()
        self._child: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Lock | None = None  # of the event loop that sends
        self._started = -RESTART_AFTER
        self.dropped = 0

    async def send(self, spans: Sequence[Ended], service: str) -> None:
        child = await self._running()
        if child is None or child.stdin is None:
            # not started (again) yet: this batch is posted from here
            await self.here.send(spans, service)
            return
        if child.stdin.transport.get_write_buffer_size() > PIPE_LIMIT:
            self._drop(len(spans), "the span exporter process is behind")
            return
        try:
            frame = marshal.dumps((service, list(spans)))
        except ValueError:  # a value marshal does not write (a subclass of str, say)
            await self.here.send(spans, service)
            return
        child.stdin.write(len(frame).to_bytes(_LENGTH, "big") + frame)

    async def _running(self) -> asyncio.subprocess.Process | None:
        child = self._child
        if child is not None and _alive(child):
            return child
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # batches sent together wait for the one child
            return await self._start()

    async def _start(self) -> asyncio.subprocess.Process | None:
        child = self._child
        if child is not None and _alive(child):
            return child
        now = time.monotonic()
        if now - self._started < RESTART_AFTER:
            return None
        self._started = now
        if child is not None:
            # what it was handed and had not posted is lost with it
            log.warning("span exporter process restarted", exit_code=child.returncode)
            self._close_pipe(child)
        try:
            # a session of its own: the signal a server's process group is stopped with
            # does not cut it short; it ends once the pipe closes
            self._child = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "orderly.entrypoints.spans"),
                stdin=asyncio.subprocess.PIPE,
                env={**os.environ, SETTINGS: self._settings},
                start_new_session=True,
            )
        except OSError as error:
            log.warning("span exporter process not started", error=repr(error))
            self._child = None
        return self._child

    def _drop(self, spans: int, why: str) -> None:
        self.dropped += spans
        log.warning("spans_dropped", spans=spans, reason=why)

    def export(self, spans: Sequence[Ended], service: str) -> None:
        self.here.export(spans, service)

    async def close(self) -> None:
        """Close the pipe and give the child the time to send what it was handed."""
        child, self._child = self._child, None
        if child is None or child.returncode is not None:
            return
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), STOP_WITHIN)
        except TimeoutError:
            log.warning("span exporter process stopped before it was done")
            child.kill()
            await child.wait()

    def shutdown(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            self._close_pipe(child)  # it sends what it has, and ends

    @staticmethod
    def _close_pipe(child: asyncio.subprocess.Process) -> None:
        if child.stdin is None:
            return
        try:
            child.stdin.close()
        except RuntimeError:  # its event loop is closed: the pipe itself, then
            pipe = child.stdin.transport.get_extra_info("pipe")
            if pipe is not None:
                pipe.close()


def _alive(child: asyncio.subprocess.Process) -> bool:
    """Whether `child` still reads what it is sent (its end of the pipe may be gone before
    its exit is known here)."""
    return (
        child.returncode is None
        and child.stdin is not None
        and not child.stdin.transport.is_closing()
    )


async def forward(settings: dict[str, Any]) -> None:
    """The child: read batches from stdin until it closes, post each (at most `IN_FLIGHT`
    at once), then wait for the last."""
    otlp = Otlp(settings["endpoint"], settings["headers"], settings["timeout"])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**31 - 1)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sends: set[asyncio.Task[None]] = set()
    while True:
        try:
            size = int.from_bytes(await reader.readexactly(_LENGTH), "big")
            service, spans = marshal.loads(await reader.readexactly(size))
        except asyncio.IncompleteReadError:
            break  # the parent closed the pipe, or is gone
        while len(sends) >= IN_FLIGHT:
            await asyncio.wait(sends, return_when=asyncio.FIRST_COMPLETED)
        sending = loop.create_task(_post(otlp, spans, service))
        sends.add(sending)
        sending.add_done_callback(sends.discard)
    if sends:
        await asyncio.wait(sends)
    await otlp.close()


async def _post(otlp: Otlp, spans: list[Ended], service: str) -> None:
    try:
        await otlp.send(spans, service)
    except Exception as error:  # a span is never worth a request
        log.warning("spans_not_exported", spans=len(spans), error=repr(error))
