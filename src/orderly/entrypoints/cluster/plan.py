"""What a cluster runs, from its config file: every process, its command, settings and port."""

import secrets
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from orderly.config import ALL_CONTEXTS, BFFS, ConfigError

# which context's base URL each process is told, by the setting that names it
_URLS = {
    "identity": "ORDERLY_IDENTITY_URL",
    "catalog": "ORDERLY_CATALOG_URL",
    "pricing": "ORDERLY_PRICING_URL",
    "inventory": "ORDERLY_INVENTORY_URL",
    "ordering": "ORDERLY_ORDERING_URL",
    "payments": "ORDERLY_PAYMENTS_URL",
    "fulfillment": "ORDERLY_FULFILLMENT_URL",
}


@dataclass(frozen=True)
class Process:
    name: str  # supervisord's program name: a context, `ordering-2`, `erp-sim`
    args: tuple[str, ...]  # of `python -m orderly`
    port: int
    env: dict[str, str]
    context: str  # the context it serves ("" for a simulator)

    @property
    def command(self) -> tuple[str, ...]:
        return (sys.executable, "-m", "orderly", *self.args)


@dataclass(frozen=True)
class Cluster:
    home: Path  # supervisord's files, the processes' logs
    database_url: str
    broker_url: str
    namespace: str
    host: str
    processes: tuple[Process, ...]
    shared: dict[str, str]  # the settings every process has, before its own overrides

    def url(self, process: Process) -> str:
        return f"http://{self.host}:{process.port}"


def load(config: Path, home: Path) -> Cluster:
    try:
        raw = tomllib.loads(config.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cluster config {config}: {error}") from None
    settings = raw.get("cluster", {})
    ports: dict[str, int] = raw.get("ports", {})
    unknown = set(ports) - set(ALL_CONTEXTS) - set(BFFS)
    missing = set(ALL_CONTEXTS) - set(ports)
    if unknown or missing:
        raise ConfigError(
            f"cluster config {config}: [ports] names every context and BFF once"
            f" (unknown: {sorted(unknown)}, missing: {sorted(missing)})"
        )
    host = str(settings.get("host", "127.0.0.1"))
    simulators: dict[str, int] = raw.get("simulators", {})
    shared = {
        "ORDERLY_DATABASE_URL": str(settings["database_url"]),
        "ORDERLY_BROKER_URL": str(settings["broker_url"]),
        "ORDERLY_BROKER_NAMESPACE": str(settings.get("namespace", "orderly")),
        "ORDERLY_SERVICE_KEY": _service_key(home),
        "ORDERLY_MIGRATE_ON_START": "false",  # `cluster up` migrates once, before starting
        "ORDERLY_ACCESS_LOG": "false",
        **{key: f"http://{host}:{ports[name]}" for name, key in _URLS.items()},
    }
    if "erp" in simulators:
        shared["ORDERLY_ERP_URL"] = f"http://{host}:{simulators['erp']}"
    if "payments" in simulators:
        shared["ORDERLY_PAYMENT_GATEWAY_URL"] = f"http://{host}:{simulators['payments']}"
    # a process's own settings over the shared ones, by its name: `[env.inventory-2]`
    overrides: dict[str, dict[str, str]] = {
        name: {key: str(value) for key, value in settings.items()}
        for name, settings in raw.get("env", {}).items()
    }

    def env_of(name: str) -> dict[str, str]:
        return {**shared, **overrides.get(name, {})}

    processes: list[Process] = []
    for name, port in ports.items():
        serve = ("serve", "--host", host, "--port", str(port), "--contexts", name)
        processes.append(Process(name, serve, port, env_of(name), name))
        for n, more in enumerate(raw.get("replicas", {}).get(name, []), start=2):
            replica = ("serve", "--host", host, "--port", str(more), "--contexts", name)
            processes.append(
                Process(
                    f"{name}-{n}", (*replica, "--no-relay"), int(more), env_of(f"{name}-{n}"), name
                )
            )
    for simulator, port in simulators.items():
        args = (f"{simulator}-sim", "--host", host, "--port", str(port))
        name = f"{simulator}-sim"
        processes.append(Process(name, args, port, env_of(name), ""))
    if unnamed := set(overrides) - {process.name for process in processes}:
        raise ConfigError(f"cluster config {config}: [env.*] names no process {sorted(unnamed)}")
    return Cluster(
        home,
        shared["ORDERLY_DATABASE_URL"],
        shared["ORDERLY_BROKER_URL"],
        shared["ORDERLY_BROKER_NAMESPACE"],
        host,
        tuple(processes),
        shared,
    )


def _service_key(home: Path) -> str:
    """The key the cluster's services show each other: made once, kept in its home."""
    kept = home / "service.key"
    if not kept.exists():
        home.mkdir(parents=True, exist_ok=True)
        kept.write_text(secrets.token_hex(32))
        kept.chmod(0o600)
    return kept.read_text().strip()
