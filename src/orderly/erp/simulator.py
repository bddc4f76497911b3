"""A simulated SAP sales order service (`orderly erp-sim`), in memory, with faults switched
over HTTP.

POST {SALES_ORDERS} makes a sales order (numbers from 4500000001 upward); a request whose
`Repeatability-Request-ID` was seen before answers the same number and makes none. POST
/sim/faults sets `latency_ms` (added to every call) and a `mode` for the next `times` calls
(null: until changed): `ok`; `timeout`, which makes the order and then withholds the answer,
as a slow SAP does; `error`, a 500 that makes nothing; `reject`, a 400 that makes nothing.
GET /sim/sales-orders?key=... says how many calls with that key made an order (`count`),
how many arrived (`calls`), its number and whether it was cancelled; without a key, every
one. DELETE {SALES_ORDERS}('number') cancels a sales order (404 if there is none; latency and
the `error` mode apply); POST {SALES_ORDERS}('number')/to_CreditMemoRequest asks for a credit
memo on it (material, quantity, amount; once per `Repeatability-Request-ID`, listed in its
`credits`). POST /sim/reset forgets everything.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderly.erp.port import KEY_HEADER, SALES_ORDERS
from orderly.kernel.faults import SimulatorFaults as Faults

FIRST_NUMBER = 4500000001
MODES = ("ok", "timeout", "error", "reject")
# how long a `timeout` call holds its answer: longer than any client waits
WITHHELD_SECONDS = 300.0


@dataclass
class Entry:
    key: str
    number: str
    count: int = 1
    calls: int = 1
    request: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False
    # credit memo requests by their key: each made once however often it is sent
    credits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "count": self.count,
            "calls": self.calls,
            "number": self.number,
            "cancelled": self.cancelled,
            "request": self.request,
            "credits": list(self.credits.values()),
        }


@dataclass
class SalesOrderBook:
    faults: Faults = field(default_factory=Faults)
    orders: dict[str, Entry] = field(default_factory=dict)
    next_number: int = FIRST_NUMBER

    def create(self, key: str, request: dict[str, Any]) -> Entry:
        """The key's sales order, made on its first call."""
        entry = self.orders.get(key)
        if entry is not None:
            entry.calls += 1
            return entry
        entry = Entry(key=key, number=str(self.next_number), request=request)
        self.next_number += 1
        if key:  # a request without a key cannot be found again
            self.orders[key] = entry
        return entry


def _odata_error(status: int, code: str, text: str) -> JSONResponse:
    body = {"error": {"code": code, "message": {"lang": "en", "value": text}}}
    return JSONResponse(body, status_code=status)


def _invalid(body: Any) -> str | None:
    """Why SAP would refuse the body, if it would."""
    if not isinstance(body, dict):
        return "the body is not a sales order"
    if not body.get("SoldToParty"):
        return "SoldToParty is required"
    items = (
        body.get("to_Item", {}).get("results") if isinstance(body.get("to_Item"), dict) else None
    )
    if not items:
        return "a sales order needs at least one item"
    return None


def app() -> Starlette:
    erp = SalesOrderBook()

    async def faulted() -> tuple[str, JSONResponse | None]:
        """This call's mode, after its latency; and its answer already, if it fails."""
        faults = erp.faults
        mode = faults.next_mode()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if mode == "error":
            return mode, _odata_error(500, "SY/530", "simulated ERP failure")
        return mode, None

    async def create(request: Request) -> JSONResponse:
        mode, failed = await faulted()
        if failed is not None:
            return failed
        try:
            body = await request.json()
        except ValueError:
            body = None
        problem = "simulated rejection" if mode == "reject" else _invalid(body)
        if problem:
            return _odata_error(400, "V1/320", problem)
        entry = erp.create(request.headers.get(KEY_HEADER, ""), body)
        if mode == "timeout":
            await asyncio.sleep(WITHHELD_SECONDS)
        answer = {**entry.request, "SalesOrder": entry.number}
        return JSONResponse({"d": answer}, status_code=201)

    async def cancel(request: Request) -> Response:
        _, failed = await faulted()
        if failed is not None:
            return failed
        number = request.path_params["number"]
        entry = next((e for e in erp.orders.values() if e.number == number), None)
        if entry is None:
            return _odata_error(404, "V1/302", f"sales order {number} does not exist")
        entry.cancelled = True
        return Response(status_code=204)

    async def credit(request: Request) -> JSONResponse:
        _, failed = await faulted()
        if failed is not None:
            return failed
        number = request.path_params["number"]
        entry = next((e for e in erp.orders.values() if e.number == number), None)
        if entry is None:
            return _odata_error(404, "V1/302", f"sales order {number} does not exist")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("Material"):
            return _odata_error(400, "V1/320", "a credit memo request names its material")
        key = request.headers.get(KEY_HEADER, "")
        made = entry.credits.setdefault(key, {"key": key, **body, "calls": 0})
        made["calls"] += 1
        return JSONResponse({"d": {"SalesOrder": number, **body}}, status_code=201)

    async def set_faults(request: Request) -> JSONResponse:
        body = await request.json()
        mode = body.get("mode", "ok")
        times = body.get("times")
        latency = body.get("latency_ms", 0)
        if mode not in MODES or not isinstance(latency, int) or latency < 0:
            return JSONResponse({"error": f"mode is one of {MODES}, latency_ms >= 0"}, 422)
        if times is not None and (not isinstance(times, int) or times < 1):
            return JSONResponse({"error": "times is a positive count or null"}, 422)
        erp.faults = Faults(latency_ms=latency, mode=mode, times=times)
        return JSONResponse(erp.faults.view())

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(erp.faults.view())

    async def sales_orders(request: Request) -> JSONResponse:
        key = request.query_params.get("key")
        if key is None:
            return JSONResponse([entry.view() for entry in erp.orders.values()])
        entry = erp.orders.get(key)
        if entry is None:
            unknown = {"key": key, "count": 0, "calls": 0, "number": None, "cancelled": False}
            return JSONResponse(unknown)
        return JSONResponse(entry.view())

    async def reset(request: Request) -> JSONResponse:
        erp.faults, erp.orders, erp.next_number = Faults(), {}, FIRST_NUMBER
        return JSONResponse({"reset": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(SALES_ORDERS, create, methods=["POST"]),
            Route(SALES_ORDERS + "('{number}')", cancel, methods=["DELETE"]),
            Route(SALES_ORDERS + "('{number}')/to_CreditMemoRequest", credit, methods=["POST"]),
            Route("/sim/faults", set_faults, methods=["POST"]),
            Route("/sim/faults", get_faults, methods=["GET"]),
            Route("/sim/sales-orders", sales_orders, methods=["GET"]),
            Route("/sim/reset", reset, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def serve(host: str, port: int) -> None:
    import uvicorn

    # a withheld answer must not hold up the simulator's own shutdown
    uvicorn.run(app(), host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
