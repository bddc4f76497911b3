"""Inventory commands, the queries other contexts may call, and its message handlers.

Every command that changes a product's stock or reservations first locks the product's
`inventory_items` row (`LOCK_ITEM`), then reads and decides: concurrent reservations of one
product are serialised, on PostgreSQL as on SQLite, and ATP can never be promised twice.
Reservation commands are idempotent per (reference, line): a repeat answers what the first
did and changes nothing.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
import orjson
import structlog

from orderly.catalog.messages import ProductCreated
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.identity.messages import AccountCreated
from orderly.inventory import domain, store
from orderly.inventory.domain import DEFAULT_DC, Kind, Lot, LotStatus
from orderly.inventory.messages import (
    SOURCE,
    AvailabilityLine,
    AvailabilityReport,
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReleaseInventory,
    ReservedLine,
    ReserveInventory,
    ShortLine,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, Message, answering, emit, new_message
from orderly.ordering.messages import CartItemAdded, CartItemRemoved, OrderCancelled
from orderly.storage import Database, Row, Tx

if TYPE_CHECKING:
    from orderly.config import Settings

log = structlog.get_logger(__name__)

INITIAL_LOT = "INITIAL"
SOFT_TTL = timedelta(minutes=15)
# No renewal keeps a cart's hold on a product past this, from when the cart first held it.
SOFT_MAX_AGE = timedelta(hours=1)
_SWEEP_BATCH = 500
# A position's totals: each of its DCs' figures, summed.
_FIGURES = tuple(f.name for f in fields(domain.Figures))


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class LotNotFound(NotFound):
    code = "lot_not_found"
    title = "Lot not found"


class LotMismatch(Conflict):
    code = "lot_mismatch"
    title = "Lot number already received with another expiry"


class LotExpired(Conflict):
    code = "lot_expired"
    title = "Lot has expired"


class UnknownDc(Unprocessable):
    code = "unknown_dc"
    title = "No such distribution centre"


class DcExists(Conflict):
    code = "dc_exists"
    title = "Distribution centre already exists"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "No live hold of this cart on this product"


def _lot(row: Row) -> Lot:
    expires = row["expires_on"]
    return Lot(
        id=row["id"],
        dc=row["dc"],
        lot_number=row["lot_number"],
        expires_on=date.fromisoformat(expires) if expires else None,
        received_at=str(row["received_at"]),
        on_hand=int(row["on_hand"]),
        reserved=int(row["reserved"]),
        status=row["status"],
    )


def _lot_view(lot: Lot, today: date) -> dict[str, Any]:
    return {
        "lot_id": lot.id,
        "dc": lot.dc,
        "lot": lot.lot_number,
        "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
        "status": lot.state(today),
        "on_hand": lot.on_hand,
        "reserved": lot.reserved,
    }


@dataclass
class _Stock:
    """A product's lots, live soft reservations and safety stock, read under its lock."""

    lots: list[Lot]
    soft: list[dict[str, Any]]
    safety: dict[str, int]

    def dcs(self) -> list[str]:
        return sorted({lot.dc for lot in self.lots} | set(self.safety))

    def atp(self, dc: str, today: date, shelf_life_days: int = 0, ignore: str = "") -> int:
        soft = sum(int(r["quantity"]) for r in self.soft if r["dc"] == dc and r["id"] != ignore)
        lots = [lot for lot in self.lots if lot.dc == dc]
        return domain.atp(lots, soft, self.safety.get(dc, 0), today, shelf_life_days)

    def figures(self, dc: str, today: date) -> domain.Figures:
        soft = sum(int(r["quantity"]) for r in self.soft if r["dc"] == dc)
        lots = [lot for lot in self.lots if lot.dc == dc]
        return domain.figures(lots, soft, self.safety.get(dc, 0), today)

    def total_atp(self, today: date) -> int:
        return sum(self.atp(dc, today) for dc in self.dcs())

    def take(self, allocation: Sequence[tuple[Lot, int]]) -> None:
        """Count `allocation` as reserved, so later lines of one order see it."""
        taken = {lot.id: n for lot, n in allocation}
        self.lots = [
            replace(lot, reserved=lot.reserved + taken[lot.id]) if lot.id in taken else lot
            for lot in self.lots
        ]


async def _lock(tx: Tx, product_id: str) -> bool:
    return bool(await tx.execute(store.LOCK_ITEM, {"product_id": product_id}))


async def _stock(tx: Tx, product_id: str, now: datetime) -> _Stock | None:
    """The product's stock as of now; None if inventory does not know the product."""
    rows = await tx.fetch_all(store.STOCK, {"product_id": product_id, "now": now})
    if not any(row["part"] == "item" for row in rows):
        return None
    lots = sorted(
        (
            _lot({**r, "lot_number": r["name"], "on_hand": r["units"]})
            for r in rows
            if r["part"] == "lot"
        ),
        key=lambda lot: (lot.dc, lot.lot_number),
    )
    soft = [
        {
            "id": r["id"],
            "reference": r["name"],
            "line": r["line"],
            "dc": r["dc"],
            "quantity": r["units"],
        }
        for r in rows
        if r["part"] == "soft"
    ]
    safety = {r["dc"]: int(r["units"]) for r in rows if r["part"] == "safety"}
    return _Stock(lots, soft, safety)


# -- products and receipts -----------------------------------------------------------------


async def add_item_on_product_created(tx: Tx, message: Envelope) -> None:
    """Catalog made a product: inventory knows it from now on (if catalog did not tell it
    before it answered, `add_item`)."""
    product = message.read(ProductCreated)
    await _add_item(tx, product.product_id, product.sku, product.initial_stock)


async def add_item(db: Database, product_id: str, sku: str, initial: int) -> None:
    """Seed 002 Flow 2: the product's inventory record, with its initial stock, made before
    catalog answers; once only, however often it is asked (and `product.created` after)."""
    await db.transaction(lambda tx: _add_item(tx, product_id, sku, initial))


async def _add_item(tx: Tx, product_id: str, sku: str, initial: int) -> None:
    """The initial stock is a lot without expiry in the main DC, received with the item."""
    now = utcnow()
    made = await tx.execute(store.INSERT_ITEM, {"product_id": product_id, "sku": sku, "at": now})
    if made and initial > 0:
        await _receive(tx, product_id, DEFAULT_DC, INITIAL_LOT, None, initial, now)


@dataclass(frozen=True)
class Receipt:
    product_id: str
    quantity: int
    lot: str
    expires_on: date | None
    dc: str = DEFAULT_DC


async def receive(db: Database, receipt: Receipt) -> dict[str, Any]:
    """Goods in: add to a lot of the product in a known DC (made on its first receipt); a
    lot received past its expiry is blocked (`expired`) from the start."""
    domain.check_dc(receipt.dc)
    domain.check_lot(receipt.lot)
    now = utcnow()

    async def work(tx: Tx) -> Lot:
        if not await _lock(tx, receipt.product_id):
            raise ProductNotFound(f"product {receipt.product_id} is not stocked")
        await _known_dc(tx, receipt.dc)
        return await _receive(
            tx,
            receipt.product_id,
            receipt.dc,
            receipt.lot,
            receipt.expires_on,
            receipt.quantity,
            now,
        )

    return _lot_view(await db.transaction(work), now.date())


async def _known_dc(tx: Tx, dc: str) -> None:
    if await tx.fetch_one(store.DC, {"code": dc}) is None:
        raise UnknownDc(f"there is no distribution centre {dc}: an operator makes it first")


async def _receive(
    tx: Tx,
    product_id: str,
    dc: str,
    lot_number: str,
    expires_on: date | None,
    quantity: int,
    now: datetime,
) -> Lot:
    key = {"product_id": product_id, "dc": dc, "lot_number": lot_number}
    row = await tx.fetch_one(store.LOT_BY_NUMBER, key)
    expiry = expires_on.isoformat() if expires_on else None
    if row is None:
        lot_id = new_id()
        status = domain.received_status(expires_on, now.date())
        params = {**key, "id": lot_id, "expires_on": expiry, "quantity": quantity, "at": now}
        params["status"] = status.value
        await tx.execute(store.INSERT_LOT, params)
    else:
        if row["expires_on"] != expiry:
            raise LotMismatch(f"lot {lot_number} in {dc} expires on {row['expires_on']}")
        lot_id = row["id"]
        await tx.execute(store.ADD_TO_LOT, {"id": lot_id, "quantity": quantity})
    found = await tx.fetch_one(store.LOT, {"id": lot_id})
    assert found is not None
    return _lot(found)


async def set_lot_status(db: Database, lot_id: str, status: LotStatus) -> dict[str, Any]:
    """Quarantine a lot (its units stop being available) or release it again; an expired
    lot is never released."""
    today = utcnow().date()

    async def work(tx: Tx) -> Lot:
        row = await tx.fetch_one(store.LOT, {"id": lot_id})
        if row is None or not await _lock(tx, row["product_id"]):
            raise LotNotFound(f"lot {lot_id} does not exist")
        lot = _lot(row)
        if status == LotStatus.RELEASED and domain.expired(lot.expires_on, today):
            raise LotExpired(f"lot {lot.lot_number} expired on {lot.expires_on}")
        await tx.execute(store.SET_LOT_STATUS, {"id": lot_id, "status": status.value})
        return replace(lot, status=status.value)

    return _lot_view(await db.transaction(work), today)


async def set_safety_stock(db: Database, product_id: str, dc: str, units: int) -> dict[str, Any]:
    domain.check_dc(dc)

    async def work(tx: Tx) -> None:
        if not await _lock(tx, product_id):
            raise ProductNotFound(f"product {product_id} is not stocked")
        await _known_dc(tx, dc)
        params = {"product_id": product_id, "dc": dc, "units": units}
        await tx.execute(store.SET_SAFETY_STOCK, params)

    await db.transaction(work)
    return await position(db, product_id)


async def set_shelf_life(db: Database, account_id: str, days: int) -> dict[str, Any]:
    """The minimum shelf life, in days, of what this account's orders are sent; only for an
    account identity has opened (`account.created`)."""

    async def work(tx: Tx) -> None:
        if await tx.fetch_one(store.KNOWN_ACCOUNT, {"account_id": account_id}) is None:
            raise AccountNotFound(f"there is no account {account_id}")
        await tx.execute(store.SET_SHELF_LIFE, {"account_id": account_id, "days": days})

    await db.transaction(work)
    return {"account_id": account_id, "days": days}


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    """Identity opened a B2B account: inventory may keep its shelf life from now on."""
    account = message.read(AccountCreated)
    await tx.execute(store.INSERT_ACCOUNT, {"account_id": account.account_id})


# -- distribution centres -----------------------------------------------------------------


def _dc_view(row: Row) -> dict[str, Any]:
    return {"code": row["code"], "name": row["name"], "created_at": row["created_at"]}


async def create_dc(db: Database, code: str, name: str) -> dict[str, Any]:
    """An operator opens a distribution centre: stock may be received into it from now on."""
    domain.check_dc(code)

    async def work(tx: Tx) -> Row:
        params = {"code": code, "name": name, "at": utcnow()}
        if not await tx.execute(store.INSERT_DC, params):
            raise DcExists(f"distribution centre {code} already exists")
        made = await tx.fetch_one(store.DC, {"code": code})
        assert made is not None
        return made

    return _dc_view(await db.transaction(work))


async def list_dcs(db: Database) -> list[dict[str, Any]]:
    return [_dc_view(row) for row in await db.read(lambda tx: tx.fetch_all(store.DCS, {}))]


# -- queries ------------------------------------------------------------------------------


async def position(db: Database, product_id: str, *, with_lots: bool = True) -> dict[str, Any]:
    """ATP per DC and in all, with the lots behind it."""
    now = utcnow()

    async def work(tx: Tx) -> _Stock | None:
        return await _stock(tx, product_id, now)

    stock = await db.read(work)
    if stock is None:
        raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
    today = now.date()
    dcs = [{"dc": dc, **asdict(stock.figures(dc, today))} for dc in stock.dcs()]
    totals = {name: sum(figures[name] for figures in dcs) for name in _FIGURES}
    view: dict[str, Any] = {"product_id": product_id, **totals, "dcs": dcs}
    if with_lots:
        view["lots"] = [_lot_view(lot, today) for lot in stock.lots]
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

    async def work(tx: Tx) -> dict[str, int]:
        found: dict[str, int] = {}
        for product_id in wanted:
            stock = await _stock(tx, product_id, now)
            if stock is not None:
                found[product_id] = stock.total_atp(now.date())
        return found

    atp = await db.read(work)
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
        held = await _cart_holds(db, cart, customer)
        for line in lines:
            line["held"] = held.get(line["product_id"], 0)
    return {"all_available": all(line["is_available"] for line in lines), "items": lines}


# -- reservations -------------------------------------------------------------------------


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
) -> Outcome:
    """Reserve every line from one DC each, lots first-expiry-first-out, or nothing at all.

    A soft reservation the same customer holds under `soft_reference` (its cart) counts as
    available to it, and is converted: released as the hard one takes its place. `until`
    makes a hold that runs out then unless its order confirms it (`provisional`).

    A repeat is noticed when its first reservation row already exists (or, if stock has run
    short since, before answering short): the common path reads nothing twice."""
    now = utcnow()
    today = now.date()
    products = sorted({line.product_id for line in lines})
    stocks: dict[str, _Stock] = {}
    for product_id in products:  # locks in a fixed order: no deadlocks between orders
        if await _lock(tx, product_id):
            stock = await _stock(tx, product_id, now)
            if stock is not None:
                stocks[product_id] = stock
    plan: list[tuple[Line, str, list[tuple[Lot, int]], str]] = []
    short: list[dict[str, Any]] = []
    for line in lines:
        stock = stocks.get(line.product_id)
        own = _own_soft(stock, soft_reference, line.product_id) if stock else None
        chosen = _choose(stock, line, today, shelf_life_days, own) if stock else None
        if chosen is None:
            available = (
                sum(
                    stock.atp(dc, today, shelf_life_days, own["id"] if own else "")
                    for dc in stock.dcs()
                )
                if stock
                else 0
            )
            short.append(
                {"productId": line.product_id, "requested": line.quantity, "available": available}
            )
            continue
        dc, allocation = chosen
        assert stock is not None
        stock.take(allocation)
        plan.append((line, dc, allocation, own["id"] if own else ""))
    if short:
        unknown = tuple(p for p in products if p not in stocks)
        return await _existing_hard(tx, reference, lines) or Outcome(False, short, unknown)
    items = []
    for line, dc, allocation, soft_id in plan:
        params = {
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
        one_trip = tx.dialect == "postgresql" and len(allocation) == 1
        if one_trip:
            lot, units = allocation[0]
            params = {**params, "lot_id": lot.id, "units": units}
            inserted = await tx.execute(store.INSERT_HARD_ONE_LOT, params)
        else:
            inserted = await tx.execute(store.INSERT_RESERVATION, params)
        if not inserted:  # made before: every line was, in one transaction
            existing = await _existing_hard(tx, reference, lines)
            assert existing is not None
            return existing
        if soft_id:
            await tx.execute(
                store.SET_RESERVATION_STATUS, {"id": soft_id, "status": "converted", "at": now}
            )
        if not one_trip:
            await tx.execute_many(
                store.RESERVE_LOT, [{"id": lot.id, "quantity": n} for lot, n in allocation]
            )
        items.append(_reserved_item(line.product_id, line.quantity, dc, allocation))
    return Outcome(True, items)


def _own_soft(stock: _Stock, soft_reference: str, product_id: str) -> Row | None:
    if not soft_reference:
        return None
    return next(
        (r for r in stock.soft if r["reference"] == soft_reference and r["line"] == product_id),
        None,
    )


def _choose(
    stock: _Stock, line: Line, today: date, shelf_life_days: int, own: Row | None
) -> tuple[str, list[tuple[Lot, int]]] | None:
    """The first DC (its own soft reservation's first) that can fill the whole line."""
    dcs = stock.dcs()
    if own is not None:
        dcs = sorted(dcs, key=lambda dc: dc != own["dc"])
    for dc in dcs:
        ignore = own["id"] if own is not None and own["dc"] == dc else ""
        if stock.atp(dc, today, shelf_life_days, ignore) < line.quantity:
            continue
        lots = [lot for lot in stock.lots if lot.dc == dc]
        allocation = domain.fefo(lots, line.quantity, today, shelf_life_days)
        if allocation is not None:
            return dc, allocation
    return None


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
class Holder:
    """Whose cart holds: its customer, and the customer's B2B account if any."""

    customer_id: str | None = None
    account_id: str | None = None


async def soft_reserve(
    tx: Tx,
    reference: str,
    product_id: str,
    quantity: int,
    ttl: timedelta | None = None,
    *,
    holder: Holder | None = None,
) -> bool:
    """Hold `quantity` of a product for a cart line until `ttl` (by default the deployment's
    hold time) runs out, renewable but never past `SOFT_MAX_AGE` from when this cart first held
    the product; a quantity of 0 lets it go.

    Sets the line's hold to `quantity`; False (and no hold) if ATP does not cover it, the hold
    is as old as it may get, or it became an order's at checkout."""
    ttl = SOFT_TTL if ttl is None else ttl
    holder = holder or Holder()
    now = utcnow()
    if not await _lock(tx, product_id):
        raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
    current = await tx.fetch_one(
        store.RESERVATION, {"reference": reference, "line": product_id, "kind": Kind.SOFT.value}
    )
    if current is not None and current["status"] == "converted":
        return quantity == 0  # the cart was checked out: the units are its order's
    if quantity == 0:
        await _let_go(tx, current, now)
        return True
    # Re-setting the line, or removing and adding it again, renews the same row: its
    # `created_at` is when the cart first held the product, however often it let go since.
    first_held_at = current["created_at"] if current is not None else now
    aged_out = first_held_at + SOFT_MAX_AGE <= now
    dc = None if aged_out else await _dc_for(tx, product_id, quantity, current, now)
    if dc is None:
        await _let_go(tx, current, now)
        return False
    params = {
        "quantity": quantity,
        "dc": dc,
        "expires_at": min(now + ttl, first_held_at + SOFT_MAX_AGE),
        "at": now,
        "customer_id": holder.customer_id,
        "account_id": holder.account_id,
    }
    if current is None:
        params |= {"id": new_id(), "reference": reference, "line": product_id}
        await tx.execute(store.INSERT_SOFT, {**params, "product_id": product_id})
    else:
        await tx.execute(store.RENEW_SOFT, {**params, "id": current["id"]})
    return True


async def _dc_for(
    tx: Tx, product_id: str, quantity: int, current: Row | None, now: datetime
) -> str | None:
    """The first DC whose ATP (besides this hold) covers `quantity`."""
    stock = await _stock(tx, product_id, now)
    assert stock is not None  # locked by the caller, so it exists
    ignore = current["id"] if current is not None else ""
    return next((d for d in stock.dcs() if stock.atp(d, now.date(), 0, ignore) >= quantity), None)


async def _let_go(tx: Tx, current: Row | None, now: datetime) -> None:
    """Release a hold that still counts; one past its time is left for the sweeper to mark
    expired (and announce)."""
    if current is not None and current["status"] == "live" and current["expires_at"] > now:
        await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": current["id"], "status": "released", "at": now}
        )


async def _cart_holds(db: Database, cart: str, customer: str | None) -> dict[str, int]:
    now = utcnow()
    rows = await db.read(lambda tx: tx.fetch_all(store.CART_HOLDS, {"reference": cart, "now": now}))
    return {
        r["line"]: int(r["quantity"])
        for r in rows
        if customer is None or r["customer_id"] == customer
    }


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


async def release_hold(db: Database, product_id: str, cart_id: str) -> None:
    """An operator lets a cart's hold go (`inventory.released`, reason `released_by_operator`).
    The cart keeps its line; setting it again holds anew, within the hold's maximum age."""

    async def work(tx: Tx) -> None:
        now = utcnow()
        if not await _lock(tx, product_id):
            raise ProductNotFound(f"product {product_id} is not stocked", product_ids=[product_id])
        current = await tx.fetch_one(
            store.RESERVATION, {"reference": cart_id, "line": product_id, "kind": Kind.SOFT.value}
        )
        if current is None or current["status"] != "live" or current["expires_at"] <= now:
            raise HoldNotFound(f"cart {cart_id} holds none of product {product_id}")
        await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": current["id"], "status": "released", "at": now}
        )
        released = InventoryReleased(
            reference=cart_id,
            reason="released_by_operator",
            items=[Units(product_id=product_id, quantity=int(current["quantity"]))],
        )
        await emit(tx, new_message(released, source=SOURCE, aggregate_id=cart_id))

    await db.transaction(work)


async def release(
    tx: Tx, reference: str, reason: str, command: Envelope | None = None
) -> list[Units]:
    """Give back every live reservation under `reference` (idempotent); what was given back,
    told as the answer to a saga's `command` if one asked."""
    now = utcnow()
    rows = await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference})
    released = []
    for row in rows:
        if row["status"] != "live" or not await _lock(tx, row["product_id"]):
            continue
        changed = await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "released", "at": now}
        )
        if not changed:
            continue
        if row["kind"] == Kind.HARD:
            await tx.execute_many(
                store.RESERVE_LOT,
                [{"id": a["lotId"], "quantity": -int(a["quantity"])} for a in row["allocations"]],
            )
        released.append(Units(product_id=row["product_id"], quantity=int(row["quantity"])))
    if released:
        await emit(tx, _released(reference, reason, released, command))
    return released


def _released(
    reference: str, reason: str, items: list[Units], command: Envelope | None = None
) -> Envelope:
    if command is None:
        body = InventoryReleased(reference=reference, reason=reason, items=items)
        return new_message(body, source=SOURCE, aggregate_id=reference)
    body = InventoryReleased(reference=reference, reason=reason, items=items, order_id=reference)
    return answering(command, body, source=SOURCE, aggregate_id=reference)


async def pick(tx: Tx, reference: str) -> int:
    """The order's units left the shelves: on-hand falls by the lots its reservations hold."""
    now = utcnow()
    picked = 0
    for row in await tx.fetch_all(store.REFERENCE_RESERVATIONS, {"reference": reference}):
        if row["kind"] != Kind.HARD or row["status"] != "live":
            continue
        await _lock(tx, row["product_id"])
        if not await tx.execute(
            store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "picked", "at": now}
        ):
            continue
        taken = [{"id": a["lotId"], "quantity": int(a["quantity"])} for a in row["allocations"]]
        await tx.execute_many(store.PICK_LOT, taken)
        picked += sum(a["quantity"] for a in taken)
    return picked


async def sweeper(db: Database, interval: float) -> None:
    """Run `sweep_expired` every `interval` seconds, for as long as the process runs."""
    while True:
        try:
            while await sweep_expired(db) == _SWEEP_BATCH:
                pass
        except Exception as error:  # the next round tries again; a sweep is bookkeeping only
            log.warning("sweep of expired soft reservations failed", error=type(error).__name__)
        await asyncio.sleep(interval)


async def sweep_expired(db: Database) -> int:
    """Mark soft reservations past their time as expired (ATP stopped counting them already)."""

    async def work(tx: Tx) -> int:
        now = utcnow()
        rows = await tx.fetch_all(store.EXPIRED_SOFT, {"now": now, "limit": _SWEEP_BATCH})
        for row in rows:
            await tx.execute(
                store.SET_RESERVATION_STATUS, {"id": row["id"], "status": "expired", "at": now}
            )
            units = [Units(product_id=row["product_id"], quantity=int(row["quantity"]))]
            await emit(tx, _released(row["reference"], "expired", units))
        return len(rows)

    return await db.transaction(work)


# -- handlers -----------------------------------------------------------------------------


async def reserve_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `inventory.reserve`: the same reservation, answered to the saga."""
    command = message.read(ReserveInventory)
    await reserve_and_answer(
        tx,
        command.order_id,
        [(item.product_id, item.quantity) for item in command.items],
        account_id=command.account_id,
        cart_id=command.cart_id,
        command=message,
    )


async def release_on_command(tx: Tx, message: Envelope) -> None:
    """A saga's `inventory.release` (a compensation); answered even when nothing was held."""
    command = message.read(ReleaseInventory)
    order_id = command.order_id
    if not await release(tx, order_id, command.reason or "compensation", message):
        await emit(tx, _released(order_id, "nothing_held", [], message))


async def shelf_life_days(tx: Tx, account: str | None) -> int:
    """The minimum shelf life of what `account`'s orders are sent (0: none set)."""
    policy = await tx.fetch_one(store.SHELF_LIFE, {"account_id": account}) if account else None
    return int(policy["days"]) if policy else 0


async def reserve_and_answer(
    tx: Tx,
    order_id: str,
    items: Sequence[tuple[str, int]],
    *,
    account_id: str | None,
    cart_id: str | None,
    command: Envelope | None = None,
) -> None:
    """Reserve an order's lines (a cart's holds become the order's) and say how it went:
    `inventory.reserved` or `inventory.insufficient`, answering a saga's `command` if one
    asked."""
    lines = [Line(str(n), product, units) for n, (product, units) in enumerate(items, start=1)]
    outcome = await hard_reserve(
        tx,
        order_id,
        lines,
        shelf_life_days=await shelf_life_days(tx, account_id),
        soft_reference=cart_id or "",
    )
    await emit(tx, reservation_told(order_id, outcome, command))


def reservation_told(order_id: str, outcome: Outcome, command: Envelope | None) -> Envelope:
    body: Message = (
        InventoryReserved(
            order_id=order_id, items=msgspec.convert(outcome.items, list[ReservedLine])
        )
        if outcome.reserved
        else InventoryInsufficient(
            order_id=order_id, items=msgspec.convert(outcome.items, list[ShortLine])
        )
    )
    if command is None:
        return new_message(body, source=SOURCE, aggregate_id=order_id)
    return answering(command, body, source=SOURCE, aggregate_id=order_id)


def configure(settings: "Settings") -> None:
    """The deployment's cart hold time and how long renewals may keep a hold
    (`ORDERLY_SOFT_RESERVATION_TTL`, `ORDERLY_SOFT_HOLD_MAX_AGE`)."""
    global SOFT_TTL, SOFT_MAX_AGE
    SOFT_TTL = timedelta(seconds=settings.soft_reservation_ttl)
    SOFT_MAX_AGE = timedelta(seconds=settings.soft_hold_max_age)


async def hold_on_cart_item_added(tx: Tx, message: Envelope) -> None:
    """Seed 000: a cart line holds its units for a while (a soft reservation), as many as
    ordering says the customer may hold (`hold`). A product inventory does not stock, or not
    enough of it, holds nothing: the cart shows ATP."""
    line = message.read(CartItemAdded)
    hold = max(0, min(line.quantity, line.hold))
    holder = Holder(line.customer_id, line.account_id)
    try:
        held = await soft_reserve(tx, line.cart_id, line.product_id, hold, holder=holder)
    except ProductNotFound:
        held = False
    if not held:
        log.info("cart line not held", cart=line.cart_id, product=line.product_id)


async def let_go_on_cart_item_removed(tx: Tx, message: Envelope) -> None:
    """The line left the cart: its hold goes."""
    line = message.read(CartItemRemoved)
    with contextlib.suppress(ProductNotFound):
        await soft_reserve(tx, line.cart_id, line.product_id, 0)


async def release_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """Seed 002: a cancelled order's stock goes back (`inventory.released`)."""
    await release(tx, message.read(OrderCancelled).order_id, "cancelled")


async def pick_on_order_shipped(tx: Tx, message: Envelope) -> None:
    """Until the warehouse reports picks, a shipped order is a picked one."""
    update = message.read(OrderStatusUpdated)
    if update.current_status == "SHIPPED":
        await pick(tx, update.order_id)
