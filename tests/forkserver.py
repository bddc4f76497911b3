"""A fork server for the Orderly processes the tests start.

Starting `python -m orderly serve` costs about a second of CPU, nearly all of it importing
Orderly and its libraries, and a full test run starts a few hundred servers. The fork server
imports them once, then forks each process from itself: the child is a process of its own
(its own pid, session, environment, working directory, standard output and error, sockets
and databases), running the same `orderly` command line as `python -m orderly` would, minus
the imports. Each test process (each xdist worker) starts one fork server on first use.

`ORDERLY_TEST_FORK=0` starts every process with `subprocess.Popen` instead.

What a child cannot take from its environment, since it was settled when the fork server
started: the interpreter's own variables (`PYTHONPATH`, `PYTHONWARNINGS`, `PYTHONUNBUFFERED`
...), `TZ`, and what libraries read as they are imported (typer's and structlog's colours,
aiohttp's `NO_EXTENSIONS`). Orderly's own modules that read the environment or the terminal
as they are imported are imported again in each child (`_RELOAD`, `_COMMANDS`).

Protocol, over a Unix seqpacket socket, one connection per child: the client sends a JSON
request (`args`, `env`, `cwd`) with its stdout and stderr descriptors attached; the server
answers `{"pid": n}` once the child is forked, and `{"returncode": n}` (negative for a
signal, as `subprocess` reports it) once it has reaped it.
"""

import atexit
import contextlib
import importlib
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ENABLED = os.environ.get("ORDERLY_TEST_FORK", "1") != "0"
# What `orderly serve` and the commands import as they start, imported once here.
_PRELOAD = (
    "orderly.entrypoints.cli",
    "orderly.entrypoints.web",
    "orderly.bootstrap",
    "orderly.storage.migrations",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "sqlalchemy.ext.asyncio",
    "uvicorn",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "aio_pika",
    "aiohttp",
    "asyncpg",
    "biip",
)
# Orderly modules that read the environment as they are imported: read again in each child.
_RELOAD = ("orderly.kernel.faults",)
_COMMANDS = "orderly.entrypoints.cli"
READY = b"ready\n"
_MAX_REQUEST = 1 << 20


class Forked:
    """A child of the fork server, used as the tests use a `subprocess.Popen`."""

    def __init__(self, connection: socket.socket, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self._connection = connection

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._connection], [], [], 0)[0]:
            self._read_exit()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._connection], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._read_exit()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None:  # never a pid the system may have handed out again
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.kill(self.pid, number)

    def signal_group(self, number: int) -> None:
        """Signal the child's process group (it leads a session of its own)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _read_exit(self) -> None:
        answer = self._connection.recv(4096)
        self._connection.close()
        if not answer:
            raise RuntimeError(f"the fork server went away before process {self.pid} ended")
        self.returncode = int(json.loads(answer)["returncode"])


class _Client:
    def __init__(self) -> None:
        self._server: subprocess.Popen[bytes] | None = None
        self._path = ""

    def spawn(self, args: list[str], env: dict[str, str], out: int, err: int) -> Forked:
        """`orderly *args` in a child with `env`, writing to the descriptors `out`, `err`."""
        self._ensure_running()
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(self._path)
        request = {"args": args, "env": env, "cwd": os.getcwd()}
        socket.send_fds(connection, [json.dumps(request).encode()], [out, err])
        answer = connection.recv(4096)
        if not answer:
            raise RuntimeError("the fork server refused the request")
        return Forked(connection, int(json.loads(answer)["pid"]), ["orderly", *args])

    def _ensure_running(self) -> None:
        if self._server is not None and self._server.poll() is None:
            return
        # Unix socket paths are short: in the temporary folder, not a test's own.
        handle, self._path = tempfile.mkstemp(prefix="orderly-fork-", suffix=".sock")
        os.close(handle)
        os.unlink(self._path)
        self._server = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver", self._path],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        atexit.register(self.close)
        # it says `ready` on its standard output once it listens (or closes it, exiting)
        assert self._server.stdout is not None
        with self._server.stdout as said:
            if not select.select([said], [], [], 60)[0]:
                raise RuntimeError("the fork server did not start within 60 s")
            if said.readline() != READY:
                raise RuntimeError(f"the fork server exited {self._server.wait(timeout=10)}")

    def close(self) -> None:
        if self._server is not None and self._server.poll() is None:
            self._server.terminate()
            self._server.wait(timeout=10)
        if self._path and os.path.exists(self._path):
            os.unlink(self._path)


_client = _Client()


def spawn(args: list[str], env: dict[str, str], out: int, err: int) -> Forked:
    return _client.spawn(args, env, out, err)


def orderly(
    args: list[str], env: dict[str, str], timeout: float
) -> "subprocess.CompletedProcess[str]":
    """`orderly *args` run to its end with `env`, its output captured as text: forked from
    the fork server, or (`ORDERLY_TEST_FORK=0`) started by `subprocess.run`."""
    if ENABLED:
        return _run(args, env, timeout)
    return subprocess.run(
        [sys.executable, "-m", "orderly", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _run(
    args: list[str], env: dict[str, str], timeout: float
) -> "subprocess.CompletedProcess[str]":
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    read = {out_read: bytearray(), err_read: bytearray()}
    deadline = time.monotonic() + timeout
    try:
        try:
            process = spawn(args, env, out_write, err_write)
        finally:
            os.close(out_write)
            os.close(err_write)
        open_ends = [out_read, err_read]
        while open_ends:
            ready = select.select(open_ends, [], [], max(deadline - time.monotonic(), 0))[0]
            if not ready:
                process.kill()
                raise subprocess.TimeoutExpired(process.args, timeout)
            for end in ready:
                chunk = os.read(end, 65536)
                if chunk:
                    read[end] += chunk
                else:
                    open_ends.remove(end)
        code = process.wait(max(deadline - time.monotonic(), 1.0))
    finally:
        os.close(out_read)
        os.close(err_read)
    out, err = (read[end].decode(errors="replace") for end in (out_read, err_read))
    return subprocess.CompletedProcess(process.args, code, out, err)


# The server


def _serve(path: str) -> None:
    for name in _PRELOAD:
        importlib.import_module(name)
    parent = os.getppid()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    sys.stdout.buffer.write(READY)  # the client waits for this line
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)  # nobody reads the pipe from now on
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ)
    events.register(wakeup_read, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    while os.getppid() == parent:  # the test process that started it is gone: so is it
        for key, _ in events.select(timeout=1.0):
            if key.fileobj is listener:
                _accept(listener, children, [events, wakeup_read, wakeup_write])
            else:
                os.read(wakeup_read, 4096)
        _reap(children)


def _accept(listener: socket.socket, children: dict[int, socket.socket], own: list[Any]) -> None:
    """Fork the child a request asks for. A request that cannot be read, or a client gone
    before it hears the pid (a test interrupted), costs that request only."""
    connection, _ = listener.accept()
    fds: list[int] = []
    try:
        message, fds, _, _ = socket.recv_fds(connection, _MAX_REQUEST, 2)
        request = json.loads(message)
        if len(fds) != 2:
            raise ValueError("a request carries stdout and stderr")
    except (OSError, ValueError):
        connection.close()
        for fd in fds:
            os.close(fd)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(request, fds, [listener, connection, *children.values(), *own])
    for fd in fds:
        os.close(fd)
    try:
        connection.send(json.dumps({"pid": pid}).encode())
    except OSError:
        os.kill(pid, signal.SIGKILL)  # nobody knows of it: reaped, then forgotten
    children[pid] = connection


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is None:
            continue
        told = {"returncode": os.waitstatus_to_exitcode(status)}
        with contextlib.suppress(OSError):  # the test let go of it
            connection.send(json.dumps(told).encode())
        connection.close()


def _child(request: dict[str, Any], fds: list[int], inherited: list[Any]) -> None:
    """Become `python -m orderly *args`; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        for thing in inherited:
            if isinstance(thing, int):
                os.close(thing)
            else:
                thing.close()
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (null, *fds):
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        for name in _RELOAD:
            if name in sys.modules:
                importlib.reload(sys.modules[name])
        # the commands' consoles take the terminal's width and colours as they are made:
        # made afresh here, for this child's output and COLUMNS
        for name in [n for n in sys.modules if n.startswith(_COMMANDS)]:
            del sys.modules[name]
        sys.argv = ["orderly", *request["args"]]
        from orderly.entrypoints.cli import main

        try:
            main()
            code = 0
        except SystemExit as exit:
            if exit.code is None or isinstance(exit.code, int):
                code = exit.code or 0
            else:
                print(exit.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    _serve(sys.argv[1])
