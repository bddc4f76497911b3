"""A B2C checkout through the whole embedded app, in this process, traced to an in-memory
exporter: one trace, from the request through every context the order touched."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from orderly import tracing
from orderly.bootstrap import Runtime
from orderly.config import load_settings
from orderly.entrypoints.web import create_app
from orderly.identity.passwords import passwords_for
from orderly.identity.users import create_operator
from orderly.messaging.relay import outbox_status
from orderly.storage import sql
from orderly.tracing import Finished
from orderly.tracing.export import InMemory
from tests.services import unique
from tests.waiting import eventually

OPERATOR = ("operator@example.com", "warehouse keys 2026")
ORDER_STATUS = sql("SELECT status FROM orders WHERE id = :id")
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
# where a paid B2C order goes: stock, payment, the order's own moves, its shipment, its mails
TOUCHED = {"ordering", "inventory", "payments", "fulfillment", "notifications"}


@dataclass
class App:
    client: httpx.AsyncClient
    runtime: Runtime
    spans: InMemory


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        {
            "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}",
            "ORDERLY_PASSWORD_HASH_MEMORY": "8192",
            "ORDERLY_PASSWORD_HASH_PASSES": "1",
            "ORDERLY_POLL_INTERVAL": "0.2",
        }
    )
    spans = InMemory()
    tracing.install(spans, settings.service_name, batch=False)
    try:
        web = create_app(settings)
        async with web.router.lifespan_context(web):
            runtime: Runtime = web.state.runtime
            identity = runtime.databases["identity"]
            await create_operator(identity, passwords_for(settings), *OPERATOR)
            transport = httpx.ASGITransport(web)
            async with httpx.AsyncClient(transport=transport, base_url="http://orderly") as client:
                yield App(client, runtime, spans)
    finally:
        tracing.shutdown()


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def customer(client: httpx.AsyncClient) -> dict[str, str]:
    email, password = f"{unique('buyer')}@example.com", "customer password 1"
    body = {"email": email, "password": password, "firstName": "Casey", "lastName": "Buyer"}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 202, response.text
    return await login(client, email, password)


async def quiet(runtime: Runtime) -> bool:
    """Every outbox published: nothing is left to handle."""
    for db in runtime.databases.values():
        if (await outbox_status(db))["pending"]:
            return False
    return True


async def status(runtime: Runtime, order_id: str) -> str:
    row = await runtime.databases["ordering"].read(
        lambda tx: tx.fetch_one(ORDER_STATUS, {"id": order_id})
    )
    return "" if row is None else str(row["status"])


def contexts(spans: list[Finished]) -> set[str]:
    return {
        str(s.attributes["orderly.context"]) for s in spans if "orderly.context" in s.attributes
    }


async def checkout(app: App, web: FastAPI | None = None) -> tuple[str, str]:
    """Set up a product and a buyer, let their messages settle, then check out: the order's
    id and the trace id of its request."""
    operator = await login(app.client, *OPERATOR)
    product = {"name": "Traced", "sku": unique("TR"), "price": "4.20", "stock": 10}
    response = await app.client.post("/api/v1/products", json=product, headers=operator)
    assert response.status_code == 201, response.text
    buyer = await customer(app.client)
    await eventually(lambda: quiet(app.runtime))
    app.spans.clear()  # what setting up traced is not the checkout's

    body: dict[str, Any] = {
        "items": [{"product_id": response.json()["id"], "quantity": 2}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }
    placed = await app.client.post("/api/v1/orders", json=body, headers=buyer)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    request = next(
        s for s in app.spans.spans if s.kind == "server" and s.name == "POST /api/v1/orders"
    )
    return order_id, f"{request.trace_id:032x}"


async def test_a_checkout_is_one_trace_through_every_context_it_touched(app: App) -> None:
    order_id, _ = await checkout(app)

    async def settled() -> list[Finished] | None:
        done = await status(app.runtime, order_id) == "processing"
        spans = list(app.spans.spans)
        return spans if done and contexts(spans) >= TOUCHED and await quiet(app.runtime) else None

    spans = await eventually(settled)

    # one trace: every span recorded since the checkout began, none of them an orphan
    assert len({s.trace_id for s in spans}) == 1
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert [(r.kind, r.name) for r in roots] == [("server", "POST /api/v1/orders")]
    assert contexts(spans) >= TOUCHED


async def test_each_delivery_is_a_child_of_its_publish(app: App) -> None:
    order_id, _ = await checkout(app)

    async def settled() -> list[Finished] | None:
        spans = list(app.spans.spans)
        done = await status(app.runtime, order_id) == "processing"
        return spans if done and contexts(spans) >= TOUCHED and await quiet(app.runtime) else None

    spans = await eventually(settled)
    by_id = {s.span_id: s for s in spans}
    consumed = [s for s in spans if s.kind == "consumer"]
    assert consumed
    for span in consumed:
        published = by_id[span.parent_id]
        assert published.kind == "producer"
        assert (
            published.attributes["messaging.message.id"] == span.attributes["messaging.message.id"]
        )
    created = [s for s in consumed if s.name == "process order.created"]
    assert {str(s.attributes["orderly.context"]) for s in created} >= {"inventory"}
