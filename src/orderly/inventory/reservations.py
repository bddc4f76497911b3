"""An order's stock: hard reservations made (all lines or none), given back, and picked.

Every command first locks the products it touches (`store.lock`, in product-id order), then
reads and decides: concurrent reservations of one product are serialised, on PostgreSQL as
on SQLite, and ATP can never be promised twice. Reservations are idempotent per
(reference, line): a repeat answers what the first did and changes nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import orjson

from orderly.inventory import accounts, dc_licences, store
from orderly.inventory.domain import Kind, Lot, Stock
from orderly.inventory.messages import (
    SOURCE,
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReservedLine,
    ShortLine,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, Message, answering, emit, new_message
from orderly.storage import Row, Tx


@dataclass(frozen=True)
class Line:
    line: str
    product_id: str
    quantity: int


@dataclass(frozen=True)
class Outcome:
    reserved: bool
    items: list[dict[str, Any]]
    # products inventory does not know (each also reported short)
    unknown: tuple[str, ...] = ()
    # why it was not reserved: `insufficient_stock`, or `no_licensed_dc` (a controlled line
    # that stock elsewhere would fill, but no DC that holds it may ship it)
    reason: str = "insufficient_stock"


async def hard_reserve(
    tx: Tx,
    reference: str,
    lines: Sequence[Line],
    *,
    shelf_life_days: int = 0,
    soft_reference: str = "",
    until: datetime | None = None,
    customer: str | None = None,
    account: str | None = None,
    qualified: Mapping[str, frozenset[str]] | None = None,
) -> Outcome:
    """Reserve every line from one DC each, lots first-expiry-first-out, or nothing at all.
    A product named in `qualified` (a controlled one) is reserved only in the DCs named
    there (those licensed for it, `dc_licences.qualified`).

    A soft reservation the same customer holds under `soft_reference` (its cart) counts as
    available to it, and is converted: released as the hard one takes its place. `until`
    makes a hold that runs out then unless its order confirms it (`provisional`).

    A repeat is noticed when its first reservation row already exists (or, if stock has run
    short since, before answering short): the common path reads nothing twice."""
    now = utcnow()
    today = now.date()
    products = sorted({line.product_id for line in lines})
    stocks: dict[str, Stock] = {}
    for product_id in products:  # locks in a fixed order: no deadlocks between orders
        if await store.lock(tx, product_id):
            stock = await store.stock(tx, product_id, now)
            if stock is not None:
                stocks[product_id] = stock
    plan: list[tuple[Line, str, list[tuple[Lot, int]], str]] = []
    short: list[dict[str, Any]] = []
    unlicensed = False
    for line in lines:
        stock = stocks.get(line.product_id)
        among = (qualified or {}).get(line.product_id)
        own = stock.hold_of(soft_reference, line.product_id) if stock else None
        chosen = stock.choose(line.quantity, today, shelf_life_days, own, among) if stock else None
        if chosen is None:
            ignore = own.id if own else ""
            available = stock.total_atp(today, shelf_life_days, ignore, among) if stock else 0
            short.append(
                {"productId": line.product_id, "requested": line.quantity, "available": available}
            )
            if stock and among is not None:
                unlicensed |= stock.choose(line.quantity, today, shelf_life_days, own) is not None
            continue
        dc, allocation = chosen
        assert stock is not None
        stock.take(allocation)
        plan.append((line, dc, allocation, own.id if own else ""))
    if short:
        unknown = tuple(p for p in products if p not in stocks)
        reason = "no_licensed_dc" if unlicensed else "insufficient_stock"
        return await _existing_hard(tx, reference, lines) or Outcome(False, short, unknown, reason)
    items = []
    for line, dc, allocation, soft_id in plan:
        reservation = {
            "id": new_id(),
            "reference": reference,
            "line": line.line,
            "kind": Kind.HARD.value,
            "product_id": line.product_id,
            "dc": dc,
            "quantity": line.quantity,
            "expires_at": until,
            "at": now,
            "allocations": _allocations(allocation),
            "customer_id": customer,
            "account_id": account,
        }
        if not await store.insert_hard(tx, reservation, allocation):
            # made before: every line was, in one transaction
            existing = await _existing_hard(tx, reference, lines)
            assert existing is not None
            return existing
        if soft_id:
            await tx.execute(
                store.SET_RESERVATION_STATUS, {"id": soft_id, "status": "converted", "at": now}
            )
        items.append(_reserved_item(line.product_id, line.quantity, dc, allocation))
    return Outcome(True, items)


def _allocations(allocation: Sequence[tuple[Lot, int]]) -> list[dict[str, Any]]:
    return [
        {
            "lotId": lot.id,
            "lot": lot.lot_number,
            "quantity": units,
            "expiresOn": lot.expires_on.isoformat() if lot.expires_on else None,
        }
        for lot, units in allocation
    ]


def _reserved_item(
    product_id: str, quantity: int, dc: str, allocation: Sequence[tuple[Lot, int]]
) -> dict[str, Any]:
    return {
        "productId": product_id,
        "quantity": quantity,
        "dc": dc,
        "lots": [
            {
                "lot": lot.lot_number,
                "quantity": units,
                "expiresOn": lot.expires_on.isoformat() if lot.expires_on else None,
            }
            for lot, units in allocation
        ],
    }


async def _existing_hard(tx: Tx, reference: str, lines: Sequence[Line]) -> Outcome | None:
    """What this reference's reservation is now, if it was made before: the same answer while
    it holds (or was picked); once released, it is not made again."""
    rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference})
    hard = {r["line"]: r for r in rows if r["kind"] == Kind.HARD}
    if not hard:
        return None
    if any(r["status"] in ("released", "expired") for r in hard.values()):
        gone = [
            {"productId": r["product_id"], "requested": int(r["quantity"]), "available": 0}
            for r in hard.values()
        ]
        return Outcome(False, gone)
    return Outcome(True, [reserved_line(hard[line.line]) for line in lines if line.line in hard])


def reserved_line(row: Row) -> dict[str, Any]:
    """`inventory.reserved`'s words for one line of a hard reservation, from its row."""
    allocations = row["allocations"] or []
    if isinstance(allocations, str):  # SQLite does not type what RETURNING returns
        allocations = orjson.loads(allocations)
    return {
        "productId": row["product_id"],
        "quantity": int(row["quantity"]),
        "dc": row["dc"],
        "lots": [
            {"lot": a["lot"], "quantity": int(a["quantity"]), "expiresOn": a["expiresOn"]}
            for a in allocations
        ],
    }


@dataclass(frozen=True)
class Controlled:
    """A B2B order's controlled lines (product id: its DEA schedule) and where it ships."""

    schedules: Mapping[str, str]
    ship_to_state: str | None = None


async def reserve_and_answer(
    tx: Tx,
    order_id: str,
    items: Sequence[tuple[str, int]],
    *,
    account_id: str | None,
    cart_id: str | None,
    command: Envelope | None = None,
    controlled: Controlled | None = None,
    run: int = 0,
) -> None:
    """Reserve an order's lines (a cart's holds become the order's) and say how it went:
    `inventory.reserved` or `inventory.insufficient`, answering a saga's `command` if one
    asked. A replayed checkout's command (its saga's `run` past the first) reserves again
    what the failed run gave back; a late repeat of the first run's is answered as before."""
    lines = [Line(str(n), product, units) for n, (product, units) in enumerate(items, start=1)]
    if command is not None and run > 1:
        await _forget_released(tx, order_id)
    qualified = None
    if controlled is not None and any(controlled.schedules.values()):
        qualified = await dc_licences.qualified(tx, controlled.schedules, controlled.ship_to_state)
    outcome = await hard_reserve(
        tx,
        order_id,
        lines,
        shelf_life_days=await accounts.shelf_life_days(tx, account_id),
        soft_reference=cart_id or "",
        qualified=qualified,
    )
    await emit(tx, reservation_told(order_id, outcome, command))


async def _forget_released(tx: Tx, reference: str) -> None:
    """Clear the way for a new reservation of `reference` if its last was given back (or ran
    out); a live or picked one stays, and is the answer."""
    rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference})
    hard = [r for r in rows if r["kind"] == Kind.HARD]
    if hard and all(r["status"] in ("released", "expired") for r in hard):
        await tx.execute(store.FORGET_GONE_HARD, {"reference": reference})


def reservation_told(order_id: str, outcome: Outcome, command: Envelope | None) -> Envelope:
    body: Message = (
        InventoryReserved(
            order_id=order_id, items=msgspec.convert(outcome.items, list[ReservedLine])
        )
        if outcome.reserved
        else InventoryInsufficient(
            order_id=order_id,
            items=msgspec.convert(outcome.items, list[ShortLine]),
            reason=outcome.reason,
        )
    )
    if command is None:
        return new_message(body, source=SOURCE, aggregate_id=order_id)
    return answering(command, body, source=SOURCE, aggregate_id=order_id)


async def release(
    tx: Tx, reference: str, reason: str, command: Envelope | None = None
) -> list[Units]:
    """Give back every live reservation under `reference` (idempotent); what was given back,
    told as the answer to a saga's `command` if one asked."""
    now = utcnow()
    rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference})
    released = []
    for row in rows:
        if row["status"] != "live" or not await store.lock(tx, row["product_id"]):
            continue
        changed = await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "released", "at": now}
        )
        if not changed:
            continue
        if row["kind"] == Kind.HARD:
            await store.give_back(tx, row["allocations"])
        released.append(Units(product_id=row["product_id"], quantity=int(row["quantity"])))
    if released:
        await emit(tx, released_told(reference, reason, released, command))
    return released


def released_told(
    reference: str, reason: str, items: list[Units], command: Envelope | None = None
) -> Envelope:
    """`inventory.released`, answering a saga's `command` if one asked."""
    if command is None:
        body = InventoryReleased(reference=reference, reason=reason, items=items)
        return new_message(body, source=SOURCE, aggregate_id=reference)
    body = InventoryReleased(reference=reference, reason=reason, items=items, order_id=reference)
    return answering(command, body, source=SOURCE, aggregate_id=reference)


async def unpick(tx: Tx, reference: str, short: Mapping[tuple[str, str], int] | None = None) -> int:
    """The order's picked units went back to their shelves (its fulfillment was undone
    before it shipped): on hand again, and its reservations given back. The units its picks
    were `short` of, by product and lot number, stay off hand: the shelf never had them."""
    now = utcnow()
    restocked = 0
    missing = dict(short or {})
    for row in await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference}):
        if row["kind"] != Kind.HARD or row["status"] != "picked":
            continue
        await store.lock(tx, row["product_id"])
        if not await tx.execute(store.UNPICK_RESERVATION, {"id": row["id"], "at": now}):
            continue
        back = []
        for allocated in row["allocations"]:
            key = (row["product_id"], allocated["lot"])
            lost = min(missing.get(key, 0), int(allocated["quantity"]))
            missing[key] = missing.get(key, 0) - lost
            back.append({"id": allocated["lotId"], "quantity": int(allocated["quantity"]) - lost})
        await tx.execute_many(store.RESTOCK_LOT, back)
        restocked += sum(a["quantity"] for a in back)
    return restocked


async def pick(tx: Tx, reference: str) -> int:
    """The order's units left the shelves: on-hand falls by the lots its reservations hold."""
    now = utcnow()
    picked = 0
    for row in await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference}):
        if row["kind"] != Kind.HARD or row["status"] != "live":
            continue
        await store.lock(tx, row["product_id"])
        if not await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "picked", "at": now}
        ):
            continue
        taken = [{"id": a["lotId"], "quantity": int(a["quantity"])} for a in row["allocations"]]
        await tx.execute_many(store.PICK_LOT, taken)
        picked += sum(a["quantity"] for a in taken)
    return picked
