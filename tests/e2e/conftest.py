"""Deployments of real servers: one embedded process, or one process per context."""

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend, make_backend, needs_services
from tests.e2e.server import Server
from tests.services import unique

# What the services of a test deployment show each other on their internal routes.
SERVICE_KEY = secrets.token_hex(32)
# Eleven processes a distributed deployment, two deployments at once (tests/services.py's
# slots) on one PostgreSQL whose max_connections is 100, and beside each an `orderly` command
# that opens every context's pool: each pool keeps within two. With three, two deployments
# held 66 connections and two commands up to 66 more, and a command was once refused.
TEST_POOL = {"ORDERLY_DATABASE_POOL_SIZE": "2"}


@dataclass
class Deployment:
    backend: Backend
    identity: Server
    catalog: Server
    pricing: Server
    inventory: Server
    ordering: Server
    fulfillment: Server
    payments: Server
    compliance: Server
    erp: Server
    notifications: Server
    history: Server
    operator_token: str = ""

    @property
    def servers(self) -> list[Server]:
        every = (
            self.identity,
            self.catalog,
            self.pricing,
            self.inventory,
            self.ordering,
            self.fulfillment,
            self.payments,
            self.compliance,
            self.erp,
            self.notifications,
            self.history,
        )
        unique: dict[int, Server] = {id(s): s for s in every}
        return list(unique.values())

    def customer(self) -> dict[str, Any]:
        """A newly registered customer: {userId, email, token}."""
        return self.identity.register_customer()


def deploy(backend: Backend, log_dir: Path, **settings: str) -> Deployment:
    """Start the servers, with an operator created beforehand and logged in after;
    `settings` are more `ORDERLY_*` variables for every process."""
    env = {**backend.env(), "ORDERLY_SERVICE_KEY": SERVICE_KEY, **TEST_POOL, **settings}
    if backend.name == "embedded":
        server = Server(env, log_dir)
        deployment = Deployment(backend, *([server] * 11))
    else:
        identity = Server(env, log_dir, contexts="identity")
        env = {**env, "ORDERLY_IDENTITY_URL": identity.url}
        inventory = Server(env, log_dir, contexts="inventory")
        pricing = Server(env, log_dir, contexts="pricing")
        # catalog tells inventory and pricing of new products; ordering asks all three
        catalog = Server(
            {**env, "ORDERLY_INVENTORY_URL": inventory.url, "ORDERLY_PRICING_URL": pricing.url},
            log_dir,
            contexts="catalog",
        )
        ordering = Server(
            {
                **env,
                "ORDERLY_INVENTORY_URL": inventory.url,
                "ORDERLY_CATALOG_URL": catalog.url,
                "ORDERLY_PRICING_URL": pricing.url,
            },
            log_dir,
            contexts="ordering",
        )
        fulfillment = Server(env, log_dir, contexts="fulfillment")
        payments = Server(env, log_dir, contexts="payments")
        compliance = Server(env, log_dir, contexts="compliance")
        erp = Server(env, log_dir, contexts="erp")
        notifications = Server(env, log_dir, contexts="notifications")
        history = Server(env, log_dir, contexts="history")
        deployment = Deployment(
            backend,
            identity,
            catalog,
            pricing,
            inventory,
            ordering,
            fulfillment,
            payments,
            compliance,
            erp,
            notifications,
            history,
        )
    try:
        # The operator is made in identity's tables, which the command migrates first: identity
        # starts after it, and the other processes, which do not touch those tables, meanwhile.
        for server in deployment.servers:
            if server is not deployment.identity:
                server.start()
        deployment.identity.create_operator()
        deployment.identity.start()
        for server in deployment.servers:
            server.wait_ready()
        deployment.operator_token = deployment.identity.login()
    except BaseException:
        for server in deployment.servers:  # a half-started deployment leaves nothing running
            server.stop()
        raise
    return deployment


@pytest.fixture
def deployment(backend: Backend, tmp_path: Path) -> Iterator[Deployment]:
    deployed = deploy(backend, tmp_path)
    try:
        yield deployed
    finally:
        for server in deployed.servers:
            server.stop()


@pytest.fixture
def embedded_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """One embedded process, for what does not depend on the runtime mode (validation)."""
    backend = Backend("embedded", f"sqlite:///{tmp_path / 'var'}", "", unique("t"))
    deployed = deploy(backend, tmp_path)
    try:
        yield deployed
    finally:
        for server in deployed.servers:
            server.stop()


# Both databases, for a module's one process serving every context (`server.one_process`;
# no broker needed).
DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgres", marks=[needs_services, pytest.mark.distributed]),
]

# Both runtime modes, for module-scoped deployments (`shared_deployment`).
BACKENDS = [
    pytest.param("embedded", id="sqlite+inprocess"),
    pytest.param(
        "distributed", id="postgres+rabbitmq", marks=[needs_services, pytest.mark.distributed]
    ),
]


@contextmanager
def shared_deployment(kind: str, tmp: Path, **settings: str) -> Iterator[Deployment]:
    """A deployment that every test of a module shares: its own database and namespace,
    its servers stopped and its database dropped at the end."""
    backend_made = make_backend(kind, tmp)
    # one loop for both ends: `asyncio.run` would close the half-run context at its exit
    loop = asyncio.new_event_loop()
    backend = loop.run_until_complete(backend_made.__aenter__())
    try:
        deployed = deploy(backend, tmp, **settings)
        try:
            yield deployed
        finally:
            for server in deployed.servers:
                server.stop()
    finally:
        loop.run_until_complete(backend_made.__aexit__(None, None, None))
        loop.close()
