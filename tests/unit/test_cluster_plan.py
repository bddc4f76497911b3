"""A cluster's plan from its config file: each process, its command and its settings."""

from pathlib import Path

import pytest

from orderly.config import ALL_CONTEXTS, BFFS, ConfigError
from orderly.entrypoints.cluster.plan import load

PORTS = "".join(f'"{name}" = {3000 + n}\n' for n, name in enumerate((*ALL_CONTEXTS, *BFFS)))
HEAD = (
    '[cluster]\ndatabase_url = "postgresql://postgres@127.0.0.1:5432/o"\n'
    'broker_url = "amqp://guest:guest@127.0.0.1:5672/"\n[ports]\n' + PORTS
)


def plan(tmp_path: Path, more: str) -> dict[str, dict[str, str]]:
    config = tmp_path / "cluster.toml"
    config.write_text(HEAD + more)
    return {p.name: p.env for p in load(config, tmp_path / "home").processes}


def test_a_process_has_its_own_settings_over_the_shared_ones(tmp_path: Path) -> None:
    proxied = "postgresql://postgres@127.0.0.1:15432/o"
    env = plan(
        tmp_path,
        f'[replicas]\ninventory = [3105]\n[env.inventory-2]\nORDERLY_DATABASE_URL = "{proxied}"\n',
    )
    assert env["inventory-2"]["ORDERLY_DATABASE_URL"] == proxied
    assert env["inventory"]["ORDERLY_DATABASE_URL"].endswith(":5432/o")
    assert env["inventory-2"]["ORDERLY_SERVICE_KEY"] == env["inventory"]["ORDERLY_SERVICE_KEY"]


def test_settings_for_a_process_the_cluster_does_not_run_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inventory-2"):
        plan(tmp_path, '[env.inventory-2]\nORDERLY_ACCESS_LOG = "true"\n')
