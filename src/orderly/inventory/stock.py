"""Goods in: the products inventory stocks, their receipts into lots, lot status, safety
stock, and the distribution centres stock is kept in.

Every command that changes a product's stock first takes the product's lock
(`store.lock`), then reads and decides.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from orderly.inventory import domain, queries, store
from orderly.inventory.domain import DEFAULT_DC, Lot, LotStatus
from orderly.inventory.errors import (
    DcExists,
    LotExpired,
    LotMismatch,
    LotNotFound,
    ProductNotFound,
    UnknownDc,
)
from orderly.inventory.messages import SOURCE, InventoryReceived
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx

INITIAL_LOT = "INITIAL"


async def add_item(db: Database, product_id: str, sku: str, initial: int) -> None:
    """Seed 002 Flow 2: the product's inventory record, with its initial stock, made before
    catalog answers; once only, however often it is asked (and `product.created` after)."""
    await db.transaction(lambda tx: add_item_in(tx, product_id, sku, initial))


async def add_item_in(tx: Tx, product_id: str, sku: str, initial: int) -> None:
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
    lot received past its expiry is blocked (`expired`) from the start. An available lot's
    receipt is told (`inventory.received`)."""
    domain.check_dc(receipt.dc)
    domain.check_lot(receipt.lot)
    now = utcnow()

    async def work(tx: Tx) -> Lot:
        if not await store.lock(tx, receipt.product_id):
            raise ProductNotFound(f"product {receipt.product_id} is not stocked")
        await _known_dc(tx, receipt.dc)
        lot = await _receive(
            tx,
            receipt.product_id,
            receipt.dc,
            receipt.lot,
            receipt.expires_on,
            receipt.quantity,
            now,
        )
        if lot.status == LotStatus.RELEASED:
            received = InventoryReceived(
                product_id=receipt.product_id,
                dc=receipt.dc,
                lot=receipt.lot,
                quantity=receipt.quantity,
                expires_on=receipt.expires_on,
            )
            await emit(tx, new_message(received, source=SOURCE, aggregate_id=receipt.product_id))
        return lot

    return queries.lot_view(await db.transaction(work), now.date())


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
    return store.lot(found)


async def set_lot_status(db: Database, lot_id: str, status: LotStatus) -> dict[str, Any]:
    """Quarantine a lot (its units stop being available) or release it again; an expired
    lot is never released."""
    today = utcnow().date()

    async def work(tx: Tx) -> Lot:
        row = await tx.fetch_one(store.LOT, {"id": lot_id})
        if row is None or not await store.lock(tx, row["product_id"]):
            raise LotNotFound(f"lot {lot_id} does not exist")
        lot = store.lot(row)
        if status == LotStatus.RELEASED and domain.expired(lot.expires_on, today):
            raise LotExpired(f"lot {lot.lot_number} expired on {lot.expires_on}")
        await tx.execute(store.SET_LOT_STATUS, {"id": lot_id, "status": status.value})
        return replace(lot, status=status.value)

    return queries.lot_view(await db.transaction(work), today)


async def set_safety_stock(db: Database, product_id: str, dc: str, units: int) -> dict[str, Any]:
    domain.check_dc(dc)

    async def work(tx: Tx) -> None:
        if not await store.lock(tx, product_id):
            raise ProductNotFound(f"product {product_id} is not stocked")
        await _known_dc(tx, dc)
        params = {"product_id": product_id, "dc": dc, "units": units}
        await tx.execute(store.SET_SAFETY_STOCK, params)

    await db.transaction(work)
    return await queries.position(db, product_id)


async def create_dc(
    db: Database,
    code: str,
    name: str,
    schedules: list[str] | None = None,
    states: list[str] | None = None,
) -> dict[str, Any]:
    """An operator opens a distribution centre: stock may be received into it from now on.
    It holds and ships the controlled schedules its DEA registration lists (none unless
    named) to the states it is licensed for (None: every state)."""
    domain.check_dc(code)
    params = {
        "code": code,
        "name": name,
        "at": utcnow(),
        "dea_schedules": domain.check_schedules(schedules or ()),
        "licensed_states": domain.check_states(states),
    }

    async def work(tx: Tx) -> Row:
        if not await tx.execute(store.INSERT_DC, params):
            raise DcExists(f"distribution centre {code} already exists")
        made = await tx.fetch_one(store.DC, {"code": code})
        assert made is not None
        return made

    return queries.dc_view(await db.transaction(work))
