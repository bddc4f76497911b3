"""What `/metrics` shows of a deployment at work, scraped over HTTP as Prometheus does: requests
by route template and status, orders by flow and status, saga steps' durations, cart holds
that ran out, and the dead letters waiting."""

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.server import Server
from tests.e2e.test_cart import add
from tests.e2e.test_cart_holds import held
from tests.e2e.test_checkout_b2c import b2c, place, settled
from tests.e2e.test_checkout_guarded import guarded
from tests.e2e.test_operations import CONSUMER, publish_status_for_missing_order
from tests.e2e.test_seed001_flow import create_product
from tests.services import unique
from tests.waiting import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

REQUESTS = "orderly_http_request_duration_seconds"
ORDERS_MOVED = "orderly_orders_moved_total"
SAGA_STEPS = "orderly_saga_step_seconds"
EXPIRED = "orderly_reservations_expired_total"
DEAD_LETTERS = "orderly_dead_letters_waiting"


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Cart holds run out after 2 s and are swept twice a second; a message that fails twice
    is a dead letter."""
    with shared_deployment(
        request.param,
        tmp_path_factory.mktemp("metrics"),
        ORDERLY_SOFT_RESERVATION_TTL="2",
        ORDERLY_SWEEP_INTERVAL="0.5",
        ORDERLY_RETRY_MAX_ATTEMPTS="2",
    ) as running:
        yield running


async def scrape(deployed: Deployment, server: Server) -> tuple[str, Samples]:
    """`server`'s exposition, and its samples by name and labels."""
    async with server.client(deployed.operator_token) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when there is none (a series not counted yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def moved(
    deployed: Deployment, server: Server, before: Samples, wanted: dict[str, dict[str, str]]
) -> Samples:
    """`server`'s samples, once each of `wanted` (sample name: labels, a name's suffix after
    `#` only telling apart two of one name) grew past its value in `before`."""

    async def grown() -> Samples | None:
        _, now = await scrape(deployed, server)
        for key, labels in wanted.items():
            name = key.split("#")[0]
            if value(now, name, **labels) <= value(before, name, **labels):
                return None
        return now

    return await eventually(grown, within=30)


async def test_metrics_show_requests_orders_saga_steps_expiries_and_dead_letters(
    deployment: Deployment,
) -> None:
    sales_server, stock_server = deployment.ordering, deployment.inventory
    _, sales_before = await scrape(deployment, sales_server)
    _, stock_before = await scrape(deployment, stock_server)
    customer = deployment.customer()
    sales = sales_server.client(customer["token"])
    product = await create_product(deployment, unique("MET"), 10)

    # given a B2C checkout paid, a guarded one declined, a path no route answers, a cart hold
    # left to run out and a message its consumer can only fail
    paid = await place(sales, b2c(product, 1))
    assert paid.status_code == 201, paid.text
    order_id = paid.json()["order_id"]
    await settled(sales, order_id, "processing")
    declined = await place(sales, guarded(product, 1, "tok_decline"))
    assert declined.status_code == 402, declined.text
    assert (await sales.get("/api/v1/no-such-route/42")).status_code == 404
    cart_product = await create_product(deployment, unique("MET-HOLD"), 5)
    await add(sales, cart_product, 2)
    await held(sales, cart_product, 2)
    await publish_status_for_missing_order(sales_server)

    # then ordering's figures moved: requests by route template and status, orders by flow
    # and the status they reached, the declined checkout's saga steps, and the dead letter
    steps = {"kind": "guarded_checkout"}
    after = await moved(
        deployment,
        sales_server,
        sales_before,
        {
            f"{REQUESTS}_count#placed": {
                "method": "POST",
                "route": "/api/v1/orders",
                "status": "201",
            },
            f"{REQUESTS}_count#declined": {
                "method": "POST",
                "route": "/api/v1/orders",
                "status": "402",
            },
            f"{REQUESTS}_count#read": {
                "method": "GET",
                "route": "/api/v1/orders/{order_id}",
                "status": "200",
            },
            f"{REQUESTS}_count#unmatched": {"method": "GET", "route": "unmatched", "status": "404"},
            f"{ORDERS_MOVED}#pending": {"channel": "b2c", "status": "pending"},
            f"{ORDERS_MOVED}#paid": {"channel": "b2c", "status": "processing"},
            f"{ORDERS_MOVED}#declined": {"channel": "guarded", "status": "payment_failed"},
            f"{SAGA_STEPS}_count#reserved": {**steps, "step": "reserve", "outcome": "succeeded"},
            f"{SAGA_STEPS}_count#declined": {**steps, "step": "pay", "outcome": "failed"},
            f"{SAGA_STEPS}_count#undone": {**steps, "step": "reserve", "outcome": "compensated"},
            f"{DEAD_LETTERS}": {"context": "ordering", "consumer": CONSUMER},
        },
    )
    assert value(after, DEAD_LETTERS, context="ordering", consumer=CONSUMER) == 1
    reserved = {**steps, "step": "reserve", "outcome": "succeeded"}
    assert value(after, f"{SAGA_STEPS}_sum", **reserved) > 0
    assert value(after, f"{SAGA_STEPS}_bucket", **reserved, le="+Inf") == value(
        after, f"{SAGA_STEPS}_count", **reserved
    )
    read = {"method": "GET", "route": "/api/v1/orders/{order_id}", "status": "200"}
    assert value(after, f"{REQUESTS}_bucket", **read, le="+Inf") == value(
        after, f"{REQUESTS}_count", **read
    )
    # a route's series is named by its template, never by the path asked
    text, _ = await scrape(deployment, sales_server)
    assert order_id not in text
    assert "no-such-route" not in text

    # and inventory counted the cart hold that ran out
    await moved(deployment, stock_server, stock_before, {EXPIRED: {"kind": "cart_hold"}})
