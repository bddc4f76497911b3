"""Seed 004's warehouse under load, embedded: shop orders from placement to delivery, every
operator action (release, pick, pack, deliver) made by the client as soon as it can be, and
the release of one wave of 1,000 orders.

The flow: a customer places paid shop orders (channel `b2c`, `tok_visa`) from 32 clients;
once every order waits in an open wave, the waves holding them are released, and 32 clients
count every pick task, pack every picked order and deliver every shipped one, each as soon
as a poll of the floor's lists (pick tasks of the wave, open pack tasks, shipped shipments)
shows it. The rate is the orders over the time from the first request to the last
delivery's answer.

The wave: with waves large enough, 1,000 one-line orders wait in one open wave; the time of
its `POST /api/v1/waves/{id}/release` (one transaction that tells each order's fulfillment),
and the time until every order has its pick tasks (made by each order's saga, asynchronously).

The carrier's cut-off is set twelve hours ahead, so that no wave leaves by the schedule and
every order of a run shares one lane.
"""

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.checkout import ADDRESS, get_json
from tests.conftest import Backend
from tests.e2e.conftest import Deployment, deploy
from tests.services import unique
from tests.waiting import eventually

CLIENTS = 32
POLL = 0.1  # seconds between two looks at the floor's lists
WITHIN = 600.0  # seconds any one wait may take before the run fails


@dataclass(frozen=True)
class Flow:
    rate: float  # orders/s, first request to last delivery


@dataclass(frozen=True)
class Release:
    orders: int
    released_s: float  # the release's POST alone
    tasked_s: float  # from the release to every order with its pick tasks


@dataclass(frozen=True)
class Floor:
    """The embedded server, as the customer placing orders and as the operators."""

    session: aiohttp.ClientSession
    url: str
    customer: dict[str, str]
    operator: dict[str, str]
    order: dict[str, Any]  # the body of one shop order

    async def get(self, path: str, **params: str | int) -> Any:
        return await get_json(
            self.session, f"{self.url}{path}", params=params, headers=self.operator
        )

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(
            f"{self.url}{path}", json=body, headers=self.operator
        ) as response:
            answer = await response.json()
            if response.status != 200:
                raise RuntimeError(f"POST {path} answered {response.status}: {answer}")
            return answer

    async def place(self) -> str | None:
        """One shop order placed; its id, or None if refused."""
        async with self.session.post(
            f"{self.url}/api/v1/orders", json=self.order, headers=self.customer
        ) as response:
            answer = await response.json()
            return str(answer["order_id"]) if response.status == 201 else None


@contextmanager
def _deployed(tmp: str, **settings: str) -> Iterator[Deployment]:
    cutoff = datetime.now(UTC) + timedelta(hours=12)
    backend = Backend("embedded", f"sqlite:///{tmp}/var", "", unique("bench"))
    deployed = deploy(
        backend,
        Path(tmp),
        ORDERLY_LOG_LEVEL="WARNING",
        ORDERLY_CARRIER_CUTOFF=f"{cutoff:%H:%M}",
        **settings,
    )
    try:
        yield deployed
    finally:
        for server in deployed.servers:
            server.stop()


async def _floor(deployed: Deployment, session: aiohttp.ClientSession, stock: int) -> Floor:
    """A product without a GTIN (its units counted, not scanned), `stock` units of it, and a
    customer whose first order ordering has accepted (it knows the product)."""
    operator = {"Authorization": f"Bearer {deployed.operator_token}"}
    body = {"name": "Bench", "sku": unique("WH"), "price": "1.00", "stock": stock}
    async with session.post(
        f"{deployed.catalog.url}/api/v1/products", json=body, headers=operator
    ) as response:
        if response.status != 201:
            raise RuntimeError(f"product answered {response.status}: {await response.text()}")
        product_id = (await response.json())["id"]
    order = {
        "items": [{"product_id": product_id, "quantity": 1}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }
    customer = {"Authorization": f"Bearer {deployed.customer()['token']}"}
    return Floor(session, deployed.fulfillment.url, customer, operator, order)


async def _place(floor: Floor, n: int) -> list[str]:
    """`n` orders from `CLIENTS` clients; their ids."""
    placed: list[str] = []
    remaining = n

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            order_id = await floor.place()
            if order_id is None:
                raise RuntimeError("a shop order was refused")
            placed.append(order_id)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return placed


async def _warm(floor: Floor) -> None:
    """Once ordering accepts orders for the product, a first round through the whole flow:
    the next orders start in waves of their own, on warm code paths."""
    first = await eventually(floor.place, within=60)
    await _fulfil(floor, {first, *await _place(floor, CLIENTS)})


async def _waves_holding(floor: Floor, orders: set[str]) -> dict[str, list[str]]:
    """Wait until every order waits in an open wave; those waves and their orders."""
    deadline = time.monotonic() + WITHIN
    while True:
        holding: dict[str, list[str]] = {}
        for wave in await floor.get("/api/v1/waves", status="OPEN", limit=500):
            shown = await floor.get(f"/api/v1/waves/{wave['id']}")
            if orders.intersection(shown["order_ids"]):
                holding[wave["id"]] = shown["order_ids"]
        waved = {order_id for order_ids in holding.values() for order_id in order_ids}
        if orders <= waved:
            return holding
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(orders - waved)} orders not in a wave within {WITHIN} s")
        await asyncio.sleep(POLL)


async def _fulfil(floor: Floor, orders: set[str]) -> float:
    """The operators' work on `orders`, from releasing their waves to delivering each one;
    when the last delivery was answered (`time.perf_counter`)."""
    waves = await _waves_holding(floor, orders)
    await asyncio.gather(*(floor.post(f"/api/v1/waves/{wave_id}/release") for wave_id in waves))
    work: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
    seen: set[str] = set()  # pick tasks, orders to pack and shipments handed to the clients
    delivered: set[str] = set()
    last = 0.0

    def scan(task: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        count = {"count": task["quantity"] - task["picked"]}
        return lambda: floor.post(f"/api/v1/pick-tasks/{task['id']}/scan", count)

    def pack(order_id: str) -> Callable[[], Awaitable[None]]:
        return lambda: floor.post(f"/api/v1/pack-tasks/{order_id}/complete", {"packages": 1})

    def deliver(shipment: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            nonlocal last
            body = {"delivery_location": "Front desk"}
            await floor.post(f"/api/v1/shipments/{shipment['id']}/deliver", body)
            delivered.add(shipment["order_id"])
            last = time.perf_counter()

        return act

    async def look() -> None:
        """Hand each piece of work the floor's lists show, once."""
        for wave_id, order_ids in list(waves.items()):
            tasks = await floor.get("/api/v1/pick-tasks", wave_id=wave_id)
            for task in tasks:
                if task["status"] == "OPEN" and task["id"] not in seen:
                    seen.add(task["id"])
                    work.put_nowait(scan(task))
            if set(order_ids) <= {task["order_id"] for task in tasks}:
                del waves[wave_id]  # every order has its tasks: nothing more to come
        for packing in await floor.get("/api/v1/pack-tasks", status="OPEN", limit=500):
            if packing["order_id"] in orders and packing["order_id"] not in seen:
                seen.add(packing["order_id"])
                work.put_nowait(pack(packing["order_id"]))
        for shipment in await floor.get("/api/v1/shipments", status="SHIPPED", limit=500):
            if shipment["order_id"] in orders and shipment["id"] not in seen:
                seen.add(shipment["id"])
                work.put_nowait(deliver(shipment))

    async def client() -> None:
        while True:
            await (await work.get())()

    clients = [asyncio.create_task(client()) for _ in range(CLIENTS)]
    deadline = time.monotonic() + WITHIN
    try:
        while len(delivered) < len(orders):
            for done in (c for c in clients if c.done()):
                done.result()  # a refused action fails the run
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(orders - delivered)} orders not delivered in {WITHIN} s")
            await look()
            await asyncio.sleep(POLL)
    finally:
        for running in clients:
            running.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    return last


async def flow(n: int) -> Flow:
    """`n` shop orders, placed, picked, packed, shipped and delivered."""
    with tempfile.TemporaryDirectory() as tmp, _deployed(tmp) as deployed:
        connector = aiohttp.TCPConnector(limit=CLIENTS + 4)  # the clients, and the one looking
        async with aiohttp.ClientSession(connector=connector) as session:
            floor = await _floor(deployed, session, (n + CLIENTS) * 2)
            await _warm(floor)
            started = time.perf_counter()
            orders = await _place(floor, n)
            ended = await _fulfil(floor, set(orders))
    return Flow(n / (ended - started))


async def wave(n: int) -> Release:
    """`n` one-line orders in one open wave, released."""
    room = {"ORDERLY_WAVE_MAX_LINES": str(n * 10), "ORDERLY_WAVE_MAX_UNITS": str(n * 10)}
    with tempfile.TemporaryDirectory() as tmp, _deployed(tmp, **room) as deployed:
        connector = aiohttp.TCPConnector(limit=CLIENTS + 4)
        async with aiohttp.ClientSession(connector=connector) as session:
            floor = await _floor(deployed, session, (n + CLIENTS) * 2)
            await _warm(floor)
            orders = await _place(floor, n)
            waves = await _waves_holding(floor, set(orders))
            if len(waves) != 1:
                raise RuntimeError(f"{n} orders landed in {len(waves)} waves, not one")
            [(wave_id, order_ids)] = waves.items()
            started = time.perf_counter()
            await floor.post(f"/api/v1/waves/{wave_id}/release")
            released = time.perf_counter()
            tasked = await _all_tasked(floor, wave_id, order_ids)
    return Release(len(order_ids), released - started, tasked - started)


async def _all_tasked(floor: Floor, wave_id: str, order_ids: list[str]) -> float:
    """When every order of the released wave had its pick tasks (`time.perf_counter`).

    The release tells the orders in the wave's order, and their tasks come roughly in that
    order: it watches the last order still without tasks alone (a short answer), and reads
    the whole wave's tasks (a thousand rows, a load on the server it measures) only when
    that one has them."""
    deadline = time.monotonic() + WITHIN
    watched = order_ids[-1]
    while time.monotonic() < deadline:
        if await floor.get("/api/v1/pick-tasks", order_id=watched):
            at = time.perf_counter()
            tasks = await floor.get("/api/v1/pick-tasks", wave_id=wave_id)
            missing = set(order_ids) - {task["order_id"] for task in tasks}
            if not missing:
                return at
            watched = max(missing)  # the wave's orders are in the order of their ids
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the wave's pick tasks were not all made within {WITHIN} s")
