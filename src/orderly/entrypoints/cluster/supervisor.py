"""supervisord for a cluster: its config file, written from the plan, and its XML-RPC
interface over a Unix socket in the cluster's home."""

import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

from orderly.entrypoints.cluster.plan import Cluster, Process


def config_text(cluster: Cluster) -> str:
    home = cluster.home
    sections = [
        f"[unix_http_server]\nfile={home / 'supervisor.sock'}\nchmod=0700\n",
        "[supervisord]\n"
        f"logfile={home / 'supervisord.log'}\n"
        f"pidfile={home / 'supervisord.pid'}\n"
        f"childlogdir={home / 'logs'}\n"
        "logfile_maxbytes=10MB\n",
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{home / 'supervisor.sock'}\n",
    ]
    sections.extend(_program(process, home) for process in cluster.processes)
    return "\n".join(sections)


def _program(process: Process, home: Path) -> str:
    environment = ",".join(f'{key}="{_escaped(value)}"' for key, value in process.env.items())
    return (
        f"[program:{process.name}]\n"
        f"command={' '.join(process.command)}\n"
        f"environment={environment}\n"
        "autostart=true\n"
        # restarted whenever it dies, however often: a cluster heals, it does not give up
        "autorestart=true\n"
        "startsecs=1\n"
        "startretries=1000\n"
        # SIGTERM: it stops taking requests, finishes those in flight, then exits
        "stopsignal=TERM\n"
        "stopwaitsecs=30\n"
        "stopasgroup=true\n"
        "killasgroup=true\n"
        "redirect_stderr=true\n"
        f"stdout_logfile={home / 'logs' / (process.name + '.log')}\n"
        "stdout_logfile_maxbytes=20MB\n"
    )


def _escaped(value: str) -> str:
    # supervisord expands %(name)s in its values, and a quoted value ends at a quote
    return value.replace("%", "%%").replace('"', '\\"')


def control(home: Path) -> Any:
    """The running supervisord's XML-RPC interface (`supervisor.*` methods)."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{home / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://cluster", transport=transport).supervisor


def running(home: Path) -> bool:
    try:
        return str(control(home).getState()["statename"]) == "RUNNING"
    except (OSError, xmlrpc.client.Fault):
        return False


def start(cluster: Cluster) -> None:
    """Write the config and start supervisord, which starts every process (it daemonizes)."""
    (cluster.home / "logs").mkdir(parents=True, exist_ok=True)
    config = cluster.home / "supervisord.conf"
    config.write_text(config_text(cluster))
    supervisord = Path(sys.executable).with_name("supervisord")
    subprocess.run([str(supervisord), "-c", str(config)], check=True)
    deadline = time.monotonic() + 30
    while not running(cluster.home):
        if time.monotonic() > deadline:
            raise RuntimeError(f"supervisord did not start: see {cluster.home / 'supervisord.log'}")
        time.sleep(0.1)


def processes(home: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control(home).getAllProcessInfo()
    return found


def stop(home: Path, within: float = 90) -> None:
    """Stop every process (each is sent SIGTERM and given its stopwaitsecs), then supervisord."""
    pid_file = home / "supervisord.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    supervisor = control(home)
    supervisor.stopAllProcesses()
    supervisor.shutdown()
    deadline = time.monotonic() + within
    while pid is not None and _alive(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"supervisord (pid {pid}) still runs after {within:.0f} s")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
