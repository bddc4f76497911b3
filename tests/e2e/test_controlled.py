"""Controlled substances over HTTP: no channel and no cart sells a scheduled product to a buyer
without an active DEA registration covering its schedule; refused, nothing is written, held
or published."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.server import Server
from tests.e2e.test_accounts import PASSWORD, enrolled
from tests.e2e.test_cart import CHECKOUT, add, atp_is
from tests.e2e.test_checkout_b2c import atp, place, settled
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.wire import Wire, tapped
from tests.services import unique
from tests.waiting import eventually

CHANNELS = ("direct", "b2c", "guarded")
PLACED = {"direct": "PENDING_SHIPMENT", "b2c": "pending", "guarded": "PLACED"}
FULL = "2,2N,3,3N,4,5"


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Consumers and account members may use every checkout flow."""
    tmp = tmp_path_factory.mktemp("controlled")
    every = ",".join(CHANNELS)
    settings = {"ORDERLY_CHANNELS": every, "ORDERLY_ACCOUNT_CHANNELS": every}
    with shared_deployment(request.param, tmp, **settings) as running:
        yield running


async def scheduled(deployed: Deployment, schedule: str, stock: int = 100) -> str:
    client = deployed.catalog.client(deployed.operator_token)
    sku = unique("CTRL")
    body = {"name": f"Controlled {sku}", "sku": sku, "price": "38.90", "stock": stock}
    response = await client.post("/api/v1/products", json={**body, "dea_schedule": schedule})
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


def member(server: Server, schedules: str, expires: str, *, schedule_ii: bool = True) -> str:
    """The token of the admin (a buyer) of a new pharmacy with this DEA registration."""
    account_id = f"PH-{uuid.uuid4().int % 90_000 + 10_000}"
    email = f"admin-{uuid.uuid4().hex[:8]}@pharmacy.example"
    result = server.cli(
        *("accounts", "create", "--id", account_id, "--name", f"Pharmacy {account_id}"),
        *("--dea", "AP5836727", "--dea-expires", expires, "--dea-schedules", schedules),
        *("--state-licence", "PA-RP-001234", "--admin-email", email),
        *("--admin-password", PASSWORD),
        *(("--schedule-ii",) if schedule_ii else ()),
    )
    assert result.returncode == 0, result.stderr
    token: str = enrolled(server, email)[0]["token"]
    return token


def order(channel: str, *product_ids: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "items": [{"product_id": p, "quantity": quantity} for p in product_ids],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": channel,
    }


def refused(response: httpx.Response, *scheduled: tuple[str, str]) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "controlled_substance_not_allowed"
    assert problem["items"] == [{"product_id": p, "dea_schedule": s} for p, s in sorted(scheduled)]
    assert problem["product_ids"] == sorted(p for p, _ in scheduled)


async def published(
    wire: Wire, deployed: Deployment, buyer: httpx.AsyncClient
) -> tuple[list[dict[str, Any]], str]:
    """Everything published up to now: a line of a new product is the marker; once its
    cart.item.added is heard, what was published before it has been heard too."""
    marker = await create_product(deployed, unique("MARK"), 10)
    assert (await add(buyer, marker, 1)).status_code == 201

    async def marked() -> list[dict[str, Any]] | None:
        heard = await wire.everything()
        seen = any(
            e["event_type"] == "cart.item.added" and e["data"].get("productId") == marker
            for e in heard
        )
        return heard if seen else None

    return await eventually(marked), marker


async def test_no_channel_sells_a_schedule_ii_product_to_a_consumer(
    deployment: Deployment,
) -> None:
    async with tapped(deployment.backend) as wire:
        customer = deployment.customer()
        consumer = deployment.ordering.client(customer["token"])
        oxycodone = await scheduled(deployment, "CII")
        plain = await create_product(deployment, unique("PLAIN"), 10)

        # every channel refuses it, alone or beside an unscheduled product; nothing is held
        for channel in CHANNELS:
            refused(await place(consumer, order(channel, oxycodone)), (oxycodone, "CII"))
            both = await place(consumer, order(channel, plain, oxycodone))
            refused(both, (oxycodone, "CII"))
        assert await atp(deployment, oxycodone) == 100
        assert await atp(deployment, plain) == 10

        # so does the cart
        refused(await add(consumer, oxycodone, 1), (oxycodone, "CII"))
        assert (await consumer.get("/api/v1/cart")).json()["items"] == []

        # a product carted before it was scheduled: its line cannot be raised, nor checked out
        await add(consumer, plain, 1)
        catalog = deployment.catalog.client(deployment.operator_token)
        changed = await catalog.patch(f"/api/v1/products/{plain}", json={"dea_schedule": "CIV"})
        assert changed.status_code == 200, changed.text
        probe = deployment.ordering.client(deployment.customer()["token"])

        async def heard_of_it() -> bool:  # more than exists: refused for stock until then
            response = await place(probe, order("direct", plain, quantity=1000))
            return response.status_code == 403

        await eventually(heard_of_it)
        raised = await consumer.put(f"/api/v1/cart/items/{plain}", json={"quantity": 2})
        refused(raised, (plain, "CIV"))
        at_checkout = await consumer.post("/api/v1/cart/checkout", json=CHECKOUT)
        refused(at_checkout, (plain, "CIV"))
        # the line may still go
        assert (await consumer.delete(f"/api/v1/cart/items/{plain}")).status_code == 200

        heard, marker = await published(wire, deployment, consumer)
        assert (await consumer.get("/api/v1/orders")).json() == []
        assert not [
            e
            for e in heard
            if e["event_type"] == "order.created" and e["data"]["userId"] == customer["userId"]
        ]
        lines = [
            (e["data"]["productId"], e["data"]["quantity"])
            for e in heard
            if e["event_type"] == "cart.item.added"
            and e["data"]["customerId"] == customer["userId"]
        ]
        assert lines == [(plain, 1), (marker, 1)]
        await atp_is(deployment, plain, 10)
        assert await atp(deployment, oxycodone) == 100


async def test_a_pharmacy_buys_what_its_active_registration_covers(
    deployment: Deployment,
) -> None:
    pharmacy = deployment.ordering.client(member(deployment.identity, FULL, "2099-12-31"))
    oxycodone = await scheduled(deployment, "CII")
    schedule_v = await scheduled(deployment, "CV")

    for channel in CHANNELS:
        placed = await place(pharmacy, order(channel, oxycodone, schedule_v))
        assert placed.status_code == 201, (channel, placed.text)
        assert placed.json()["status"] == PLACED[channel]
    added = await add(pharmacy, oxycodone, 2)
    assert added.status_code == 201, added.text
    raised = await pharmacy.put(f"/api/v1/cart/items/{oxycodone}", json={"quantity": 3})
    assert raised.status_code == 200, raised.text
    checked_out = await pharmacy.post("/api/v1/cart/checkout", json=CHECKOUT)
    assert checked_out.status_code == 201, checked_out.text
    await settled(pharmacy, checked_out.json()["order_id"], "processing")


@pytest.mark.parametrize(
    ("schedules", "expires", "schedule_ii"),
    [
        pytest.param("3,3N,4,5", "2099-12-31", True, id="without-schedule-2"),
        pytest.param("2N,3,3N,4,5", "2099-12-31", True, id="non-narcotic-2-only"),
        pytest.param(FULL, "2099-12-31", False, id="not-enrolled-for-schedule-ii"),
        pytest.param(FULL, "2024-01-31", True, id="expired"),
    ],
)
async def test_a_registration_that_does_not_cover_the_schedule_is_refused(
    deployment: Deployment, schedules: str, expires: str, schedule_ii: bool
) -> None:
    token = member(deployment.identity, schedules, expires, schedule_ii=schedule_ii)
    pharmacy = deployment.ordering.client(token)
    oxycodone = await scheduled(deployment, "CII")

    for channel in CHANNELS:
        refused(await place(pharmacy, order(channel, oxycodone)), (oxycodone, "CII"))
    refused(await add(pharmacy, oxycodone, 1), (oxycodone, "CII"))
    assert (await pharmacy.get("/api/v1/orders")).json() == []
    assert (await pharmacy.get("/api/v1/cart")).json()["items"] == []
    assert await atp(deployment, oxycodone) == 100
