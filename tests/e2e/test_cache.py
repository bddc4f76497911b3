"""The read cache over HTTP (docs/cache.md): whoever changes an order or a product reads it
changed at once; another process reads it changed once the change's invalidation has reached
it (at once with Redis, as the news arrives with each process's own memory), and never the
older one after that; a cached order is never shown to a caller who could not see it."""

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import needs_services
from tests.contract.test_cache import REDIS_URL, needs_redis
from tests.e2e.conftest import Deployment, shared_deployment
from tests.e2e.server import Server
from tests.e2e.test_bff import bff_server
from tests.e2e.test_checkout_b2c import place
from tests.e2e.test_operations import metric
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.services import unique
from tests.waiting import eventually

PAGE = "query($id: ID!) { product(id: $id) { id name listPrice } }"
FULL_PAGE = (
    "query($id: ID!) { product(id: $id) { id name listPrice price { amount source }"
    " availability { atp } } }"
)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # the product page's answers kept two minutes: one seen changed sooner was dropped by news
    tmp = tmp_path_factory.mktemp("cache")
    with shared_deployment("embedded", tmp, ORDERLY_PAGE_CACHE_TTL="120") as running:
        yield running


@dataclass
class Replicas:
    """A distributed deployment on Redis, with a second ordering process and a second
    catalog process on Redis, and a third catalog process that keeps its cache in memory."""

    deployed: Deployment
    ordering: Server
    catalog: Server
    catalog_in_memory: Server


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    tmp = tmp_path_factory.mktemp("cache-replicas")
    with shared_deployment("distributed", tmp, ORDERLY_CACHE_URL=REDIS_URL) as deployed:
        extra = [
            Server(deployed.ordering.env, tmp),
            Server(deployed.catalog.env, tmp),
            Server({**deployed.catalog.env, "ORDERLY_CACHE_URL": ""}, tmp),
        ]
        try:
            for server in extra:
                server.start()
            for server in extra:
                server.wait_ready()
            yield Replicas(deployed, *extra)
        finally:
            for server in extra:
                server.stop()


async def counted(server: Server, token: str, cache: str, outcome: str) -> float:
    async with server.client(token) as client:
        exposition = (await client.get("/metrics")).text
    return metric(exposition, "orderly_cache_requests_total", cache=cache, outcome=outcome)


async def an_order(deployed: Deployment, customer: dict[str, Any], server: Server) -> str:
    product_id = await create_product(deployed, unique("CACHE"), 20)
    async with server.client(customer["token"]) as client:
        body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
        placed = await place(client, body)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    return order_id


async def read(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_customer_reads_its_order_changed_as_soon_as_it_changed(
    embedded: Deployment,
) -> None:
    # given an order its customer has read twice: the second read is a hit
    customer = embedded.customer()
    order_id = await an_order(embedded, customer, embedded.ordering)
    server, operator = embedded.ordering, embedded.operator_token
    async with server.client(customer["token"]) as client:
        first = await read(client, f"/api/v1/orders/{order_id}")
        hits = await counted(server, operator, "orders", "hit")
        assert await read(client, f"/api/v1/orders/{order_id}") == first
        assert await counted(server, operator, "orders", "hit") == hits + 1

        # when the customer cancels it
        cancelled = await client.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then its next read shows it cancelled, with the cancellation in its history
        again = await read(client, f"/api/v1/orders/{order_id}")
    assert again["status"] == cancelled.json()["status"] != first["status"]
    assert again["history"] == cancelled.json()["history"]
    assert len(again["history"]) == len(first["history"]) + 1


async def test_a_cached_order_is_no_one_elses(embedded: Deployment) -> None:
    # given a customer's order, read (and so cached) by its customer
    owner, stranger = embedded.customer(), embedded.customer()
    order_id = await an_order(embedded, owner, embedded.ordering)
    server = embedded.ordering
    async with server.client(owner["token"]) as client:
        for _ in range(2):
            await read(client, f"/api/v1/orders/{order_id}")
            await read(client, f"/api/v1/orders/{order_id}/details")

    # another customer is told it does not exist, through the order and its details
    async with server.client(stranger["token"]) as client:
        for path in (f"/api/v1/orders/{order_id}", f"/api/v1/orders/{order_id}/details"):
            answer = await client.get(path)
            assert answer.status_code == 404, answer.text
    # an operator sees it
    async with server.client(embedded.operator_token) as client:
        assert (await read(client, f"/api/v1/orders/{order_id}"))["order_id"] == order_id


async def test_an_operator_reads_a_product_changed_as_soon_as_it_changed(
    embedded: Deployment,
) -> None:
    # given a product read twice, by its route and by the product page: hits
    product_id = await create_product(embedded, unique("CACHE"), 5)
    server, operator = embedded.catalog, embedded.operator_token
    customer = embedded.customer()
    async with server.client(operator) as ops, server.client(customer["token"]) as shopper:
        for _ in range(2):
            await read(ops, f"/api/v1/products/{product_id}")
            await page(shopper, product_id)
        hits = await counted(server, operator, "products", "hit")
        await read(ops, f"/api/v1/products/{product_id}")
        assert await counted(server, operator, "products", "hit") == hits + 1

        # when an operator renames it
        renamed = await ops.patch(f"/api/v1/products/{product_id}", json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text

        # then it reads renamed at once, by its route and on the product page
        assert (await read(ops, f"/api/v1/products/{product_id}"))["name"] == "Renamed"
        assert (await page(shopper, product_id))["name"] == "Renamed"


async def test_a_new_wac_shows_as_the_products_price_and_the_old_one_never_again(
    embedded: Deployment,
) -> None:
    product_id = await create_product(embedded, unique("CACHE"), 5)
    async with embedded.catalog.client(embedded.operator_token) as ops:
        for _ in range(2):
            assert (await read(ops, f"/api/v1/products/{product_id}"))["price"] == "49.99"
        async with embedded.pricing.client(embedded.operator_token) as pricing:
            wac = await pricing.put(f"/api/v1/prices/{product_id}/wac", json={"price": "12.50"})
        assert wac.status_code == 204, wac.text
        await seen_changed(ops, product_id, "price", "12.50")


async def kept_page(
    deployed: Deployment, client: httpx.AsyncClient, product_id: str, server: Server | None = None
) -> Any:
    """The product page as `client`'s caller reads it (from `server`, catalog's process if
    none), once it reads its kept answer: the first read fills catalog's entry for the
    product, the second keeps the answer (made with that entry), the third is answered
    with it."""
    server, operator = server or deployed.catalog, deployed.operator_token
    seen = [await page(client, product_id, FULL_PAGE) for _ in range(2)]
    hits = await counted(server, operator, "pages", "hit")
    assert await page(client, product_id, FULL_PAGE) == seen[-1]
    assert await counted(server, operator, "pages", "hit") == hits + 1
    return seen[-1]


async def test_the_product_page_is_kept_for_its_caller_and_no_other(
    embedded: Deployment,
) -> None:
    # given a product page a customer has read until its kept answer answered it
    product_id = await create_product(embedded, unique("CACHE"), 5)
    server, operator = embedded.catalog, embedded.operator_token
    first, second = embedded.customer(), embedded.customer()
    async with server.client(first["token"]) as client:
        seen = await kept_page(embedded, client, product_id)
    assert seen["availability"]["atp"] == 5
    assert seen["price"] == {"amount": "49.99", "source": "wac"}

    # another customer's reads are its own, not the first one's answer: a miss, then kept
    hits = await counted(server, operator, "pages", "hit")
    async with server.client(second["token"]) as client:
        assert await page(client, product_id, FULL_PAGE) == seen
        assert await counted(server, operator, "pages", "hit") == hits
        assert await page(client, product_id, FULL_PAGE) == seen
        assert await counted(server, operator, "pages", "hit") == hits + 1


async def test_the_product_page_shows_stock_and_a_wac_changed_once_their_news_is_heard(
    embedded: Deployment,
) -> None:
    # given a product page answered from its kept answer (kept for two minutes)
    product_id = await create_product(embedded, unique("CACHE"), 5)
    customer, buyer = embedded.customer(), embedded.customer()
    ops = embedded.operator_token
    async with embedded.catalog.client(customer["token"]) as client:
        assert (await kept_page(embedded, client, product_id))["availability"]["atp"] == 5

        async def shown(field: str, part: str, value: object) -> None:
            async def now() -> bool:
                return (await page(client, product_id, FULL_PAGE))[field][part] == value

            await eventually(now, within=15)

        # when stock is received (inventory.received), it shows
        async with embedded.inventory.client(ops) as stock:
            receipt = {"quantity": 7, "lot": unique("LOT"), "expires_on": "2099-01-31"}
            received = await stock.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        assert received.status_code == 201, received.text
        await shown("availability", "atp", 12)

        # when another customer's order takes some (inventory.reserved), it shows
        async with embedded.ordering.client(buyer["token"]) as orders:
            body = {
                "items": [{"product_id": product_id, "quantity": 3}],
                "shipping_address": ADDRESS,
            }
            placed = await place(orders, body)
        assert placed.status_code == 201, placed.text
        await shown("availability", "atp", 9)

        # when pricing sets a new WAC (price.wac_changed), the caller's price shows it
        async with embedded.pricing.client(ops) as pricing:
            wac = await pricing.put(f"/api/v1/prices/{product_id}/wac", json={"price": "12.50"})
        assert wac.status_code == 204, wac.text
        await shown("price", "amount", "12.50")


async def page(
    client: httpx.AsyncClient, product_id: str, query: str | None = None
) -> dict[str, Any]:
    body = {"query": query or PAGE, "variables": {"id": product_id}}
    answer = await client.post("/graphql", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["data"]["product"]
    return found


async def seen_changed(client: httpx.AsyncClient, product_id: str, field: str, value: str) -> None:
    """Once the product reads changed, it never reads as it was again (twenty reads)."""

    async def changed() -> bool:
        return (await read(client, f"/api/v1/products/{product_id}"))[field] == value

    await eventually(changed)
    after = [await read(client, f"/api/v1/products/{product_id}") for _ in range(20)]
    assert {product[field] for product in after} == {value}


@needs_services
@needs_redis
@pytest.mark.distributed
async def test_an_order_changed_through_one_process_reads_changed_through_another(
    replicas: Replicas,
) -> None:
    # given an order read twice through the second ordering process (cached in Redis)
    deployed = replicas.deployed
    customer = deployed.customer()
    order_id = await an_order(deployed, customer, deployed.ordering)
    first_process = deployed.ordering.client(customer["token"])
    second_process = replicas.ordering.client(customer["token"])
    async with first_process as one, second_process as two:
        before = [await read(two, f"/api/v1/orders/{order_id}") for _ in range(2)]
        assert before[0] == before[1]
        hits = await counted(replicas.ordering, deployed.operator_token, "orders", "hit")
        assert hits >= 1

        # when the customer cancels it through the first process
        cancelled = await one.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then the second process shows it cancelled at once, every time
        after = [await read(two, f"/api/v1/orders/{order_id}") for _ in range(5)]
    assert {order["status"] for order in after} == {cancelled.json()["status"]}
    assert after[0]["history"] == cancelled.json()["history"]


@needs_services
@needs_redis
@pytest.mark.distributed
async def test_a_product_changed_through_one_process_reads_changed_in_the_others(
    replicas: Replicas,
) -> None:
    # given a product read twice through each of the other catalog processes
    deployed = replicas.deployed
    product_id = await create_product(deployed, unique("CACHE"), 5)
    token = deployed.operator_token
    clients = [server.client(token) for server in (replicas.catalog, replicas.catalog_in_memory)]
    async with clients[0] as shared, clients[1] as in_memory:
        for client in (shared, in_memory):
            for _ in range(2):
                assert (await read(client, f"/api/v1/products/{product_id}"))["name"] != "Renamed"
        for server in (replicas.catalog, replicas.catalog_in_memory):
            assert await counted(server, token, "products", "hit") >= 1

        # when an operator renames it through the first catalog process
        async with deployed.catalog.client(token) as first:
            renamed = await first.patch(f"/api/v1/products/{product_id}", json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text

        # then the process on Redis reads it renamed at once; the one with its own memory
        # as soon as `product.updated` reached it; neither ever reads the old name again
        assert (await read(shared, f"/api/v1/products/{product_id}"))["name"] == "Renamed"
        await asyncio.gather(
            seen_changed(shared, product_id, "name", "Renamed"),
            seen_changed(in_memory, product_id, "name", "Renamed"),
        )

        # and a new WAC (pricing's news, which catalog's consumer applies) reaches both
        async with deployed.pricing.client(token) as pricing:
            wac = await pricing.put(f"/api/v1/prices/{product_id}/wac", json={"price": "7.25"})
        assert wac.status_code == 204, wac.text
        await asyncio.gather(
            seen_changed(shared, product_id, "price", "7.25"),
            seen_changed(in_memory, product_id, "price", "7.25"),
        )


def test_a_server_whose_redis_cannot_be_reached_says_so_and_stops(tmp_path: Path) -> None:
    server = Server(
        {
            "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}",
            "ORDERLY_CACHE_URL": "redis://127.0.0.1:1/0",
        },
        tmp_path,
    )
    server.start()
    with pytest.raises(
        RuntimeError, match=re.escape("cannot use the cache at redis://127.0.0.1:1/0")
    ):
        server.wait_ready()


@needs_services
@needs_redis
@pytest.mark.distributed
async def test_bff_webs_product_page_on_redis_shows_a_change_made_in_another_process_at_once(
    replicas: Replicas, tmp_path: Path
) -> None:
    # given BFF-web in a process of its own, its answers in Redis (kept two minutes), and a
    # product page answered from its kept answer
    deployed = replicas.deployed
    web = bff_server(deployed, tmp_path, "bff-web", ORDERLY_PAGE_CACHE_TTL="120")
    try:
        product_id = await create_product(deployed, unique("CACHE"), 5)
        customer = deployed.customer()
        async with web.client(customer["token"]) as client:
            seen = await kept_page(deployed, client, product_id, web)
            assert seen["availability"]["atp"] == 5

            # when an operator renames it through catalog's process, the page shows it at once
            async with deployed.catalog.client(deployed.operator_token) as ops:
                renamed = await ops.patch(f"/api/v1/products/{product_id}", json={"name": "Re"})
            assert renamed.status_code == 200, renamed.text
            assert (await page(client, product_id, FULL_PAGE))["name"] == "Re"

            # when stock is received through inventory's process, it shows once news is heard
            async with deployed.inventory.client(deployed.operator_token) as stock:
                receipt = {"quantity": 7, "lot": unique("LOT"), "expires_on": "2099-01-31"}
                path = f"/api/v1/inventory/{product_id}/receipts"
                assert (await stock.post(path, json=receipt)).status_code == 201

            async def shown() -> bool:
                return (await page(client, product_id, FULL_PAGE))["availability"]["atp"] == 12

            await eventually(shown, within=15)
    finally:
        web.stop()
