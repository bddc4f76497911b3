"""The seeds' flows, played through Orderly's REST API as its users would: each step says
what it shows, each flow ends in an outcome in the seeds' words, or fails saying why."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from orderly.entrypoints.cli.playback.client import Api, DemoFailed, until

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
Step = Callable[[str], None]  # the flow tells the progress bar which step it is on


@dataclass(frozen=True)
class Cast:
    """Who plays, and what of the deployment the demo may switch."""

    ops: Api
    customer: Api
    pharmacist: Api | None  # None: no second-factor code to sign in with
    erp_url: str  # the ERP simulator's, whose faults the demo switches; "": none
    switches: bool  # the deployment serves fault switches (ORDERLY_FAULT_SWITCHES)


@dataclass(frozen=True)
class Flow:
    seed: str
    title: str
    steps: tuple[str, ...]
    play: Callable[[Cast, Step], Awaitable[str]]


async def new_product(cast: Cast, stock: int, price: str, name: str) -> str:
    """A product of the demo's own, in stock at once (inventory knows it before the 201)."""
    sku = f"DEMO-{uuid.uuid4().hex[:8].upper()}"
    body = {"name": name, "sku": sku, "price": price, "description": "demo", "stock": stock}
    made = await cast.ops.post("/api/v1/products", body)
    return str(made["id"])


async def place(api: Api, body: dict[str, Any], expect: tuple[int, ...] = (201, 202)) -> Any:
    """An order, once ordering has heard of its products (a new one is told by an event)."""
    wanted = (*expect, 422)

    async def attempt() -> Any:
        answer = await api.http.post("/api/v1/orders", json=body)
        if answer.status_code == 422 and answer.json().get("code") == "unknown_product":
            return None
        if answer.status_code not in wanted:
            raise DemoFailed(f"POST /api/v1/orders: {answer.status_code} {answer.text[:200]}")
        return answer

    answer = await until("ordering hears of the product", attempt, within=30)
    if answer.status_code not in expect:
        raise DemoFailed(f"POST /api/v1/orders: {answer.status_code} {answer.text[:200]}")
    return answer.json()


def lines(product_id: str, quantity: int, **more: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        **more,
    }


async def status_of(api: Api, order_id: str, *words: str, within: float = 60) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        order: dict[str, Any] = await api.get(f"/api/v1/orders/{order_id}")
        return order if order["status"] in words else None

    return await until(f"order {order_id[:8]} {'/'.join(words)}", reached, within)


async def atp(cast: Cast, product_id: str) -> int:
    return int((await cast.ops.get(f"/api/v1/inventory/{product_id}"))["atp"])


async def direct(cast: Cast, step: Step) -> str:
    """Seed 001: availability first, the order with its stock held, then its delivery."""
    step("check availability")
    product = await new_product(cast, 10, "19.99", "Demo thermometer")
    asked = {"items": [{"product_id": product, "quantity": 2}]}
    report = await cast.customer.post("/api/v1/products/check-availability", asked)
    if not report["all_available"]:
        raise DemoFailed("availability: not all available")
    step("place the order")
    order = await place(cast.customer, lines(product, 2, channel="direct"))
    order_id = order["order_id"]
    step("ship it")

    async def shipment() -> dict[str, Any] | None:
        found = await cast.ops.get("/api/v1/shipments", params={"order_id": order_id})
        return found[0] if found else None

    shipping = await until("the order's shipment", shipment)
    tracking = {"tracking_number": f"TRK{uuid.uuid4().hex[:9].upper()}", "carrier": "UPS"}
    await cast.ops.post(f"/api/v1/shipments/{shipping['id']}/ship", tracking)
    step("deliver it")
    where = {"delivery_location": "Front door"}
    await cast.ops.post(f"/api/v1/shipments/{shipping['id']}/deliver", where)
    done = await status_of(cast.customer, order_id, "DELIVERED")
    return f"{order['status']} → {done['status']}"


async def shop(cast: Cast, step: Step) -> str:
    """Seed 002: the choreographed checkout, paid; a declined card; a short stock."""
    product = await new_product(cast, 5, "25.00", "Demo gloves")
    step("paid order")
    paid = await place(cast.customer, lines(product, 1, channel="b2c", payment_method="tok_visa"))
    happy = await status_of(cast.customer, paid["order_id"], "processing")
    step("declined card")
    card = "tok_decline"
    declined = await place(cast.customer, lines(product, 1, channel="b2c", payment_method=card))
    failed = await status_of(cast.customer, declined["order_id"], "cancelled", "payment_failed")
    await until("the declined order's stock back", lambda: _is(atp(cast, product), 4))
    step("short stock")
    short = lines(product, 50, channel="b2c", payment_method="tok_visa")
    answer = await place(cast.customer, short, expect=(201, 202, 400, 409))
    if "order_id" in answer:
        gone = await status_of(cast.customer, answer["order_id"], "cancelled")
        short_end = gone["status"]
    else:
        short_end = f"refused ({answer['code']})"
    return f"{happy['status']}; declined → {failed['status']}; short → {short_end}"


async def _is(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted


async def guarded(cast: Cast, step: Step) -> str:
    """Seed 003: a checkout a saga sees through; a failed payment compensated; with
    inventory unreachable, the breaker open and orders taken on the last ATP seen."""
    product = await new_product(cast, 20, "12.50", "Demo saline spray")
    step("placed")
    placed = await place(
        cast.customer, lines(product, 1, channel="guarded", payment_method="tok_visa")
    )
    step("declined, compensated")
    card = "tok_decline"
    body = lines(product, 1, channel="guarded", payment_method=card)
    declined = await place(cast.customer, body, expect=(402,))
    await until("the declined order's stock back", lambda: _is(atp(cast, product), 19))
    outcome = f"{placed['status']}; declined → {declined['order_status']}"
    if not cast.switches:
        return f"{outcome}; breaker not shown (the deployment has no fault switches)"
    step("inventory unreachable: breaker opens")
    await cast.ops.put("/api/v1/admin/faults", {"unreachable": ["inventory"]})
    try:
        taken = await _until_the_breaker_opens(cast, product)
        step("taken on the last ATP, re-verified")
        for order_id in taken:
            await status_of(cast.customer, order_id, "PLACED")
    finally:
        await cast.ops.put("/api/v1/admin/faults", {"unreachable": []})
    step("inventory back: breaker closes")
    await until("the breaker closes", lambda: _breaker(cast, product, closed=True), within=60)
    return f"{outcome}; breaker open → {len(taken)} placed on fallback; closed again"


async def _until_the_breaker_opens(cast: Cast, product: str) -> list[str]:
    """Guarded orders, one after another, until the breaker has opened; their ids."""
    taken: list[str] = []

    async def one_more() -> bool:
        body = lines(product, 1, channel="guarded", payment_method="tok_visa")
        taken.append((await place(cast.customer, body))["order_id"])
        return await _breaker(cast, product, closed=False)

    await until("the breaker opens", one_more, within=60)
    return taken


async def _breaker(cast: Cast, product: str, *, closed: bool) -> bool:
    """Whether the inventory breaker is (open, or closed again) as `/metrics` says; while it
    is not closed yet, a guarded order lets a call through to close it."""
    metrics = await cast.ops.http.get("/metrics")
    opened = 'orderly_circuit_breaker_open{circuit="inventory"} 1.0' in metrics.text
    if closed and opened:
        await place(cast.customer, lines(product, 1, channel="guarded", payment_method="tok_visa"))
    return opened != closed


async def pharmacy(cast: Cast, step: Step) -> str:
    """Seed 000: a pharmacy's order on account through compliance, the reservation, the price
    lock and the ERP; an ERP that times out, its steps undone in reverse, and an operator's
    replay of the dead letter."""
    if cast.pharmacist is None:
        return "not played: no code for the pharmacist's second factor here"
    step("signed in with MFA")
    product = await new_product(cast, 100, "12.00", "Demo atorvastatin")
    step("order on account")
    first = await place(cast.pharmacist, lines(product, 10))
    step("confirmed with its sales order")
    confirmed = await status_of(cast.pharmacist, first["order_id"], "CONFIRMED", "FAILED")
    if confirmed["status"] != "CONFIRMED":
        raise DemoFailed(f"the order failed: {confirmed.get('failure')}")
    outcome = f"CONFIRMED, sales order {confirmed.get('sales_order_number')}"
    if not cast.erp_url:
        return f"{outcome}; ERP timeout not shown (no simulator to switch)"
    step("ERP times out: undone in reverse")
    erp = Api(cast.erp_url)
    try:
        await erp.post("/sim/faults", {"mode": "timeout"})
        failing = await place(cast.pharmacist, lines(product, 5))
        failed = await status_of(cast.pharmacist, failing["order_id"], "FAILED", within=180)
    finally:
        await erp.post("/sim/faults", {"mode": "ok"})
        await erp.close()
    await until("its stock back", lambda: _is(atp(cast, product), 90))
    step("replayed by an operator: confirmed")
    letter = await until("its dead letter", lambda: _dead_letter(cast, failing["order_id"]))
    await cast.ops.post(f"/api/v1/admin/dead-letters/{letter}/replay")
    again = await status_of(cast.pharmacist, failing["order_id"], "CONFIRMED", within=120)
    reason = (failed.get("failure") or {}).get("reason", "?")
    return f"{outcome}; ERP timeout → FAILED ({reason}), undone; replayed → {again['status']}"


async def _dead_letter(cast: Cast, order_id: str) -> str | None:
    for letter in await cast.ops.get("/api/v1/admin/dead-letters"):
        if letter["type"] != "order.checkout_retry" or letter["replayed_at"]:
            continue
        shown = await cast.ops.get(f"/api/v1/admin/dead-letters/{letter['id']}")
        if shown["message"]["data"].get("orderId") == order_id:
            return str(letter["id"])
    return None


async def warehouse(cast: Cast, step: Step) -> str:
    """Seed 004: a paid order waved, picked, packed, shipped and delivered."""
    product = await new_product(cast, 10, "9.99", "Demo oximeter")
    paid = await place(cast.customer, lines(product, 2, channel="b2c", payment_method="tok_visa"))
    order_id = paid["order_id"]
    step("wave released")
    wave = await until("the order's wave", lambda: _wave_of(cast, order_id))
    await cast.ops.post(f"/api/v1/waves/{wave}/release")
    step("picked")
    tasks = await until(
        "its pick tasks",
        lambda: cast.ops.get("/api/v1/pick-tasks", params={"order_id": order_id}),
    )
    for task in tasks:  # the demo's products have no GTIN: counted, not scanned
        await cast.ops.post(f"/api/v1/pick-tasks/{task['id']}/scan", {"count": task["quantity"]})
    step("packed and shipped")
    await until("it waits to be packed", lambda: _waiting_to_pack(cast, order_id))
    await cast.ops.post(f"/api/v1/pack-tasks/{order_id}/complete", {"packages": 1})
    shipment = await until("its shipment shipped", lambda: _shipped(cast, order_id))
    step("delivered")
    where = {"delivery_location": "Loading dock"}
    await cast.ops.post(f"/api/v1/shipments/{shipment['id']}/deliver", where)
    done = await status_of(cast.customer, order_id, "delivered")
    return f"{done['status']}, tracking {shipment['tracking_number']}"


async def _wave_of(cast: Cast, order_id: str) -> str | None:
    for wave in await cast.ops.get("/api/v1/waves", params={"status": "OPEN"}):
        shown = await cast.ops.get(f"/api/v1/waves/{wave['id']}")
        if order_id in shown["order_ids"]:
            return str(wave["id"])
    return None


async def _waiting_to_pack(cast: Cast, order_id: str) -> bool:
    return any(p["order_id"] == order_id for p in await cast.ops.get("/api/v1/pack-tasks"))


async def _shipped(cast: Cast, order_id: str) -> dict[str, Any] | None:
    found = await cast.ops.get("/api/v1/shipments", params={"order_id": order_id})
    return found[0] if found and found[0]["status"] == "SHIPPED" else None


FLOWS = (
    Flow(
        "001",
        "direct order",
        ("check availability", "place the order", "ship it", "deliver it"),
        direct,
    ),
    Flow("002", "B2C checkout", ("paid order", "declined card", "short stock"), shop),
    Flow(
        "003",
        "guarded checkout",
        (
            "placed",
            "declined, compensated",
            "inventory unreachable: breaker opens",
            "taken on the last ATP, re-verified",
            "inventory back: breaker closes",
        ),
        guarded,
    ),
    Flow(
        "000",
        "pharmacy order (B2B)",
        (
            "signed in with MFA",
            "order on account",
            "confirmed with its sales order",
            "ERP times out: undone in reverse",
            "replayed by an operator: confirmed",
        ),
        pharmacy,
    ),
    Flow(
        "004",
        "fulfillment",
        ("wave released", "picked", "packed and shipped", "delivered"),
        warehouse,
    ),
)
