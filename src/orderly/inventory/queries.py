"""What inventory tells without changing anything: positions, availability, DCs, holds."""

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from orderly.inventory import domain, store
from orderly.inventory.domain import Lot, Stock
from orderly.inventory.errors import ProductNotFound
from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.batch import distinct
from orderly.kernel.clock import utcnow
from orderly.storage import Database, Row, Tx

# A position's totals: each of its DCs' figures, summed.
_FIGURES = tuple(f.name for f in fields(domain.Figures))


def lot_view(lot: Lot, today: date) -> dict[str, Any]:
    return {
        "lot_id": lot.id,
        "dc": lot.dc,
        "lot": lot.lot_number,
        "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
        "status": lot.state(today),
        "on_hand": lot.on_hand,
        "reserved": lot.reserved,
    }


def dc_view(row: Row) -> dict[str, Any]:
    licence = store.licence(row)
    return {
        "code": row["code"],
        "name": row["name"],
        "created_at": row["created_at"],
        "dea_schedules": sorted(licence.schedules),
        "licensed_states": None if licence.states is None else sorted(licence.states),
    }


async def list_dcs(db: Database) -> list[dict[str, Any]]:
    return [dc_view(row) for row in await db.read(lambda tx: tx.fetch_all(store.DCS, {}))]


async def position(db: Database, product_id: str, *, with_lots: bool = True) -> dict[str, Any]:
    """ATP per DC and in all, with the lots behind it."""
    now = utcnow()

    async def work(tx: Tx) -> Stock | None:
        return await store.stock(tx, product_id, now)

    stock = await db.read(work)
    if stock is None:
        raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
    return position_view(product_id, stock, now.date(), with_lots=with_lots)


async def positions(
    db: Database, product_ids: Sequence[str], *, with_lots: bool
) -> list[dict[str, Any]]:
    """The positions of the products asked, as `position` shows each, in the order asked
    (each once), read in one statement; a product inventory does not know is left out."""
    now = utcnow()
    wanted = distinct(product_ids)
    found = await db.read(lambda tx: store.stocks(tx, wanted, now))
    return [
        position_view(product_id, found[product_id], now.date(), with_lots=with_lots)
        for product_id in wanted
        if product_id in found
    ]


def position_view(product_id: str, stock: Stock, today: date, *, with_lots: bool) -> dict[str, Any]:
    dcs = [{"dc": dc, **asdict(stock.figures(dc, today))} for dc in stock.dcs()]
    totals = {name: sum(figures[name] for figures in dcs) for name in _FIGURES}
    view: dict[str, Any] = {"product_id": product_id, **totals, "dcs": dcs}
    if with_lots:
        view["lots"] = [lot_view(lot, today) for lot in stock.lots]
    return view


async def check_availability(
    db: Database,
    requested: list[tuple[str, int]],
    *,
    cart: str = "",
    customer: str | None = None,
) -> AvailabilityReport:
    """Seed 001's availability check, on ATP; unknown products are refused, not reported as 0.
    With a cart, each line also says what that cart holds of it (only `customer`'s, if named)."""
    now = utcnow()
    wanted = sorted({product_id for product_id, _ in requested})

    async def work(tx: Tx) -> tuple[dict[str, int], dict[str, Held]]:
        # ATP and the cart's holds on one snapshot: a hold made in between would otherwise
        # be counted twice, in what is held and in what is still available
        found: dict[str, int] = {}
        for product_id in wanted:
            stock = await store.stock(tx, product_id, now)
            if stock is not None:
                found[product_id] = stock.total_atp(now.date())
        held = await _cart_holds(tx, cart, customer, now) if cart else {}
        return found, held

    atp, held = await db.read(work)
    missing = [product_id for product_id in wanted if product_id not in atp]
    if missing:
        raise ProductNotFound(f"unknown product(s): {', '.join(missing)}", product_ids=missing)
    lines: list[AvailabilityLine] = [
        {
            "product_id": product_id,
            "requested": quantity,
            "available": atp[product_id],
            "is_available": atp[product_id] >= quantity,
        }
        for product_id, quantity in requested
    ]
    if cart:
        for line in lines:
            units, until = held.get(line["product_id"], (0, None))
            line["held"] = units
            line["held_until"] = None if until is None else until.isoformat()
    return {"all_available": all(line["is_available"] for line in lines), "items": lines}


# a cart line's held units, and when the first of its holds ends
Held = tuple[int, datetime | None]


async def _cart_holds(tx: Tx, cart: str, customer: str | None, now: datetime) -> dict[str, Held]:
    rows = await tx.fetch_all(store.CART_HOLDS, {"reference": cart, "now": now})
    held: dict[str, Held] = {}
    for r in rows:
        if customer is not None and r["customer_id"] != customer:
            continue
        units, until = held.get(r["line"], (0, None))
        ends: datetime = r["expires_at"]
        held[r["line"]] = (units + int(r["quantity"]), ends if until is None else min(until, ends))
    return held


async def holds(db: Database, product_id: str) -> list[dict[str, Any]]:
    """Who holds the product in a cart now: the operator's view, the largest holds first."""
    now = utcnow()

    async def work(tx: Tx) -> list[Row] | None:
        if await tx.fetch_one(store.KNOWN_ITEM, {"product_id": product_id}) is None:
            return None
        return await tx.fetch_all(store.PRODUCT_HOLDS, {"product_id": product_id, "now": now})

    rows = await db.read(work)
    if rows is None:
        raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
    return [
        {
            "cart_id": r["reference"],
            "customer_id": r["customer_id"],
            "account_id": r["account_id"],
            "dc": r["dc"],
            "quantity": int(r["quantity"]),
            "first_held_at": r["created_at"],
            "expires_at": r["expires_at"],
        }
        for r in rows
    ]
