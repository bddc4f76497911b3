"""Backends for the contract and end-to-end suites: a database and namespace per test."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tests.services import (
    AMQP_URL,
    broker_up,
    create_pg_database,
    drop_pg_database,
    postgres_up,
    unique,
)

DISTRIBUTED_UP = postgres_up() and broker_up()
CI = os.environ.get("CI", "").lower() == "true"

needs_services = pytest.mark.skipif(
    not DISTRIBUTED_UP and not CI, reason="PostgreSQL and RabbitMQ are not running on 127.0.0.1"
)


@dataclass(frozen=True)
class Backend:
    """Where one test's data and messages live."""

    name: str
    database_url: str
    broker_url: str
    namespace: str

    def env(self) -> dict[str, str]:
        return {
            "ORDERLY_DATABASE_URL": self.database_url,
            "ORDERLY_BROKER_URL": self.broker_url,
            "ORDERLY_BROKER_NAMESPACE": self.namespace,
        }


@asynccontextmanager
async def make_backend(kind: str, tmp_path: Path) -> AsyncIterator[Backend]:
    if kind == "embedded":
        yield Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
        return
    url = await create_pg_database()
    namespace = unique("t")
    try:
        yield Backend("distributed", url, AMQP_URL, namespace)
    finally:
        await drop_pg_database(url)
        await _delete_namespace(namespace)


@pytest.fixture(
    params=[
        pytest.param("embedded", id="sqlite+inprocess"),
        pytest.param(
            "distributed", id="postgres+rabbitmq", marks=[needs_services, pytest.mark.distributed]
        ),
    ]
)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with make_backend(request.param, tmp_path) as made:
        yield made


@pytest.fixture
async def distributed_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    async with make_backend("distributed", tmp_path) as made:
        yield made


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=[needs_services, pytest.mark.distributed]),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def _delete_namespace(namespace: str) -> None:
    from orderly.bootstrap import topology
    from orderly.config import Settings
    from orderly.messaging.transports.rabbitmq import delete_topology

    await delete_topology(AMQP_URL, namespace, topology(Settings()))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests that stop PostgreSQL or RabbitMQ (`outage`) would fail the tests other workers run
    at the same time: they run in a pytest of their own, without `-n`."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and item.get_closest_marker("outage"):
        pytest.fail(
            "an outage test stops a service every worker uses: run it apart, without -n "
            "(`-m outage`), and the rest with `-m 'not outage'`",
            pytrace=False,
        )


@pytest.fixture
def today() -> date:
    """The UTC day when the test starts: a module-level constant goes stale when a run crosses
    midnight, while the server's day moves on."""
    from orderly.kernel.clock import utcnow

    return utcnow().date()


# The modules that take longest (`make test` prints the slowest tests): handed out first, so
# that the workers, given one module at a time, end together rather than one running on alone.
SLOWEST_FIRST = (
    "tests/e2e/test_openapi_conformance.py",
    "tests/e2e/test_fuzz_routes.py",
    "tests/e2e/test_openapi_conformance_operator.py",
    "tests/e2e/test_demo_run.py",
    "tests/browser/test_ops.py",
    "tests/browser/test_pharmacy.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
