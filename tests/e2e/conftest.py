"""Deployments of real servers: one embedded process, or one process per context."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.server import Server


@dataclass
class Deployment:
    backend: Backend
    catalog: Server
    ordering: Server
    fulfillment: Server

    @property
    def servers(self) -> list[Server]:
        unique: dict[int, Server] = {
            id(s): s for s in (self.catalog, self.ordering, self.fulfillment)
        }
        return list(unique.values())


def deploy(backend: Backend, log_dir: Path, *, ordering_relay: bool = True) -> Deployment:
    env = backend.env()
    if backend.name == "embedded":
        server = Server(env, log_dir, relay=ordering_relay)
        deployment = Deployment(backend, server, server, server)
    else:
        catalog = Server(env, log_dir, contexts="catalog")
        ordering = Server(
            {**env, "ORDERLY_CATALOG_URL": catalog.url},
            log_dir,
            contexts="ordering",
            relay=ordering_relay,
        )
        fulfillment = Server(env, log_dir, contexts="fulfillment")
        deployment = Deployment(backend, catalog, ordering, fulfillment)
    for server in deployment.servers:
        server.start()
    for server in deployment.servers:
        server.wait_ready()
    return deployment


@pytest.fixture
def deployment(backend: Backend, tmp_path: Path) -> Iterator[Deployment]:
    deployed = deploy(backend, tmp_path)
    try:
        yield deployed
    finally:
        for server in deployed.servers:
            server.stop()
