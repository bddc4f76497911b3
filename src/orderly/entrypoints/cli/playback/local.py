"""An Orderly of the demo's own: one embedded process on SQLite files in a directory of its
own, the ERP simulator beside it, the demo data loaded, fault switches on; gone afterwards."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from orderly.entrypoints.cli.playback.client import DemoFailed


@dataclass(frozen=True)
class Target:
    url: str
    erp_url: str
    env: dict[str, str]  # the deployment's settings, for `orderly demo mfa-code`


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _orderly(*args: str) -> list[str]:
    return [sys.executable, "-m", "orderly", *args]


@contextmanager
def own_deployment() -> Iterator[Target]:
    home = Path(tempfile.mkdtemp(prefix="orderly-demo-"))
    erp_port, port = _free_port(), _free_port()
    erp_url = f"http://127.0.0.1:{erp_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERLY_")}
    env.update(
        ORDERLY_DATABASE_URL=f"sqlite:///{home / 'var'}",
        ORDERLY_ERP_URL=erp_url,
        # an ERP that does not answer is given up on within seconds, not minutes
        ORDERLY_ERP_TIMEOUT="1",
        ORDERLY_ERP_RETRIES="1",
        ORDERLY_FAULT_SWITCHES="true",
        ORDERLY_BREAKER_THRESHOLD="2",
        ORDERLY_BREAKER_TTL="2",
        ORDERLY_ACCESS_LOG="false",
    )
    log = (home / "orderly.log").open("ab")
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(
            subprocess.Popen(
                _orderly("erp-sim", "--port", str(erp_port)), env=env, stdout=log, stderr=log
            )
        )
        loaded = subprocess.run(_orderly("demo", "load"), env=env, capture_output=True)
        if loaded.returncode != 0:
            raise DemoFailed(f"demo load: {loaded.stderr.decode(errors='replace')[-500:]}")
        started.append(
            subprocess.Popen(
                _orderly("serve", "--port", str(port)), env=env, stdout=log, stderr=log
            )
        )
        url = f"http://127.0.0.1:{port}"
        _ready(f"{erp_url}/health", started[0], home)
        _ready(f"{url}/health", started[1], home)
        yield Target(url, erp_url, env)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _ready(health: str, process: subprocess.Popen[bytes], home: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (home / "orderly.log").read_text(errors="replace")[-1500:]
            raise DemoFailed(f"a process of the demo's Orderly exited:\n{tail}")
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise DemoFailed(f"{health} did not answer within a minute")


def pharmacist_code(env: dict[str, str]) -> str | None:
    """The demo pharmacist's TOTP code now, read where `orderly demo mfa-code` can read it."""
    found = subprocess.run(_orderly("demo", "mfa-code"), env=env, capture_output=True, text=True)
    code = found.stdout.strip()
    return code if found.returncode == 0 and code.isdigit() else None
