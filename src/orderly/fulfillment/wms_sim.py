"""A simulated external WMS (`orderly wms-sim`), in memory: it takes orders, and picks, packs
and ships each by itself, telling Orderly what it did at each step.

POST /orders takes an order (its `Idempotency-Key` seen before: the same order, counted
once); DELETE /orders/{id} cancels one not shipped yet (404 if unknown). POST /sim/config
sets where it reports (`callback_url`, with `service_key`), the pause between two steps
(`step_ms`), whether it reports deliveries too (`deliver`) and how many units of each order's
first lot it does not find (`short`, taken as the order comes in: reported as is, even past
the lot's quantity). GET /sim/orders says, per order, how many times it was sent (`count`),
whether it was cancelled and which events went out.
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SERVICE_KEY_HEADER = "orderly-service-key"
ATTEMPTS = 100  # tries of one report before the simulator gives it up


@dataclass
class Config:
    callback_url: str = ""
    service_key: str = ""
    step_ms: int = 50
    deliver: bool = True
    short: int = 0  # units of an order's first lot it reports short


@dataclass
class Entry:
    order: dict[str, Any]
    short: int = 0
    count: int = 1  # orders made for this key: one, however often it is sent
    cancelled: bool = False
    events: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "order_id": self.order["order_id"],
            "count": self.count,
            "short": self.short,
            "cancelled": self.cancelled,
            "events": self.events,
            "order": self.order,
        }


def app() -> Starlette:
    config = Config()
    orders: dict[str, Entry] = {}
    running: set[asyncio.Task[None]] = set()

    async def report(client: httpx.AsyncClient, entry: Entry, event: dict[str, Any]) -> bool:
        body = {"event_id": secrets.token_hex(8), "order_id": entry.order["order_id"], **event}
        headers = {SERVICE_KEY_HEADER: config.service_key}
        for _ in range(ATTEMPTS):
            try:
                answer = await client.post(
                    f"{config.callback_url}/api/v1/wms/events", json=body, headers=headers
                )
                if answer.status_code == 200:
                    entry.events.append(event["type"])
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        return False

    def picked(entry: Entry) -> list[dict[str, Any]]:
        lots = []
        for n, line in enumerate(entry.order["lines"]):
            short = entry.short if n == 0 else 0
            found = max(0, line["quantity"] - short)
            serials = [f"{line['lot']}-{k}"[:20] for k in range(found)] if line.get("gtin") else []
            lots.append({**line, "serials": serials, "short": short})
        return lots

    async def progress(entry: Entry) -> None:
        steps: list[dict[str, Any]] = [
            {"type": "picked", "lots": picked(entry)},
            {"type": "packed", "packages": 1},
            {
                "type": "shipped",
                "carrier": entry.order.get("carrier") or "UPS",
                "tracking_number": f"SHP-{secrets.randbelow(10**10):010d}",
            },
        ]
        if config.deliver:
            steps.append({"type": "delivered", "delivery_location": "Receiving dock"})
        async with httpx.AsyncClient(timeout=5) as client:
            for step in steps:
                await asyncio.sleep(config.step_ms / 1000)
                if entry.cancelled and step["type"] != "delivered":
                    return
                if not await report(client, entry, step):
                    return

    async def take(request: Request) -> Response:
        order = await request.json()
        key = request.headers.get("idempotency-key") or order["order_id"]
        known = orders.get(key)
        if known is not None:  # the same order, sent again: nothing made twice
            return JSONResponse(known.view(), status_code=200)
        entry = orders[key] = Entry(order, short=config.short)
        task = asyncio.create_task(progress(entry))
        running.add(task)
        task.add_done_callback(running.discard)
        return JSONResponse(entry.view(), status_code=201)

    async def cancel(request: Request) -> Response:
        entry = orders.get(request.path_params["order_id"])
        if entry is None:
            return JSONResponse({"detail": "no such order"}, status_code=404)
        if "shipped" not in entry.events:
            entry.cancelled = True
        return Response(status_code=204)

    async def configure(request: Request) -> Response:
        for name, value in (await request.json()).items():
            setattr(config, name, value)
        return JSONResponse(vars(config) | {"service_key": "…"})

    async def listing(request: Request) -> Response:
        return JSONResponse([entry.view() for entry in orders.values()])

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/orders", take, methods=["POST"]),
            Route("/orders/{order_id}", cancel, methods=["DELETE"]),
            Route("/sim/config", configure, methods=["POST"]),
            Route("/sim/orders", listing, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def serve(host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app(), host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
