"""A simulator of the outside world (`orderly erp-sim`, `orderly payments-sim`) in a process
of its own, on a free port: ready when it is yielded, stopped afterwards."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests import forkserver
from tests.e2e.server import TLS, free_port


@contextmanager
def serving(command: str, log_dir: Path) -> Iterator[str]:
    """`orderly <command>` on a free port; its base URL once its /health answers."""
    port = free_port()
    log = (log_dir / f"{command}-{port}.log").open("wb")
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process: subprocess.Popen[bytes] | forkserver.Forked
    if forkserver.ENABLED:
        process = forkserver.spawn(args, env, log.fileno(), log.fileno())
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderly", *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(command, process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(
    command: str,
    process: "subprocess.Popen[bytes] | forkserver.Forked",
    url: str,
    within: float = 20.0,
) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(verify=TLS, timeout=1) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"orderly {command} exited with {process.returncode}")
            try:
                if http.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # a poll of /health, bounded by the deadline
    raise RuntimeError(f"orderly {command} did not answer within {within}s")
