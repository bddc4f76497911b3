"""Orderly's own warehouse floor: waves, pick tasks checked by scan, packing, the carrier.

An order that may ship joins an open wave of its lane (distribution centre, zone, carrier and
cut-off; `waves.choose`). Releasing the wave (an operator, or the schedule before the
cut-off) tells each of its orders' fulfillment (`wave.released`), which asks for its pick
tasks: one per lot inventory allocated, at that lot's place. A picker confirms each unit by
scanning its barcode (`picking.check_scan`: wrong product, lot or expiry is refused and
changes nothing), or counts units that carry no GTIN; a shelf that runs out closes the task
short. With the order's last task closed, `pick.completed` tells inventory what left the
shelves (and what a short pick did not find is backordered or its line cancelled,
`backorders`), and the order waits to be packed; packed, the carrier takes it (`SHP-…`).
"""

import secrets
from datetime import date, timedelta
from typing import Any

from orderly.catalog.messages import ProductCreated
from orderly.fulfillment import backorders, orchestrator, picking, store, waves
from orderly.fulfillment.messages import (
    SOURCE,
    PackCancelled,
    PackCompleted,
    PickCancelled,
    PickCompleted,
    PickedLot,
    WaveReleased,
)
from orderly.fulfillment.policy import ZONE, FulfillmentPolicy
from orderly.inventory.messages import InventoryReserved
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, answering, emit, new_message
from orderly.storage import Database, Row, Tx


class WaveNotFound(NotFound):
    code = "wave_not_found"
    title = "Wave not found"


class WaveNotOpen(Conflict):
    code = "wave_not_open"
    title = "The wave is released already"


class PickTaskNotFound(NotFound):
    code = "pick_task_not_found"
    title = "Pick task not found"


class PickTaskClosed(Conflict):
    code = "pick_task_closed"
    title = "The pick task is closed"


class CountNeeded(Conflict):
    code = "count_not_scan"
    title = "This product carries no GTIN: count its units instead of scanning"


class ScanNeeded(Conflict):
    code = "scan_not_count"
    title = "This product carries a GTIN: scan each unit"


class PackNotOpen(Conflict):
    code = "pack_not_open"
    title = "The order is not waiting to be packed"


class PackWhere(Conflict):
    code = "pack_dc_needed"
    title = "The order is packed in more than one distribution centre: say which"


class NotAllocated(NotFound):
    """Inventory's allocation of the order is not known here yet: tried again later."""

    code = "allocation_not_known"
    title = "The order's allocation is not known yet"


# Copies of what other contexts tell


async def copy_product(tx: Tx, message: Envelope) -> None:
    """What a picker scans for a product (its GTIN, from its NDC), and its name and SKU."""
    product = message.read(ProductCreated)
    params = {
        "product_id": product.product_id,
        "sku": product.sku,
        "name": product.name,
        "gtin": product.gtin,
    }
    await tx.execute(store.UPSERT_PRODUCT, params)


async def allocation_on_inventory_reserved(tx: Tx, message: Envelope) -> str:
    """Keep the lots inventory allocated to the order, from which its units are picked (a
    reservation made again replaces the last); the order's id."""
    reserved = message.read(InventoryReserved)
    order_id = reserved.order_id
    parts = [
        {
            "order_id": order_id,
            "part": part,
            "product_id": line.product_id,
            "dc": line.dc,
            "lot": lot.lot,
            "expires_on": None if lot.expires_on is None else lot.expires_on.isoformat(),
            "quantity": lot.quantity,
        }
        for part, (line, lot) in enumerate(
            ((line, lot) for line in reserved.items for lot in line.lots), start=1
        )
    ]
    await tx.execute(store.FORGET_ALLOCATION, {"order_id": order_id})
    if parts:
        await tx.execute_many(store.INSERT_ALLOCATION, parts)
    return order_id


async def _allocation(tx: Tx, order_id: str) -> list[Row]:
    rows = await tx.fetch_all(store.ALLOCATION, {"order_id": order_id})
    if not rows:
        raise NotAllocated(f"inventory's allocation of order {order_id} is not known yet")
    return rows


# Waves


def by_dc(allocation: list[Row]) -> dict[str, list[Row]]:
    """The order's allocated lots by the distribution centre they are picked in."""
    centres: dict[str, list[Row]] = {}
    for row in allocation:
        centres.setdefault(row["dc"], []).append(row)
    return centres


async def join_waves(
    tx: Tx, rules: FulfillmentPolicy, order_id: str, allocation: list[Row] | None = None
) -> dict[str, list[Row]]:
    """Put the order in a wave of each distribution centre it is picked in: the oldest open
    wave of that lane it fits, or a new one. Its allocated lots (`allocation`, if read
    already) by centre."""
    centres = by_dc(allocation or await _allocation(tx, order_id))
    if await tx.fetch_all(store.WAVES_OF_ORDER, {"order_id": order_id}):
        return centres
    now = utcnow()
    cutoff = rules.next_cutoff(now)
    # in the centres' order, so that two orders joining the same waves at once take turns
    for dc, rows in sorted(centres.items()):
        lane = waves.Lane(dc, ZONE, rules.carrier, cutoff)
        lines = len({row["product_id"] for row in rows})
        units = sum(int(row["quantity"]) for row in rows)
        lane_params = {"dc": dc, "zone": lane.zone, "carrier": lane.carrier, "cutoff": cutoff}
        room = {
            "lines": lines,
            "units": units,
            "max_lines": rules.waves.max_lines,
            "max_units": rules.waves.max_units,
        }
        open_waves = [
            waves.OpenWave(row["id"], lane, row["opened_at"], int(row["lines"]), int(row["units"]))
            for row in await tx.fetch_all(store.OPEN_WAVE_WITH_ROOM, {**lane_params, **room})
        ]
        wave_id = waves.choose(waves.Candidate(lane, lines, units), open_waves, rules.waves)
        grow = {"id": wave_id, "lines": lines, "units": units}
        # a wave released since it was read takes no more orders: a new one is opened
        if wave_id is None or not await tx.execute(store.GROW_WAVE, grow):
            wave_id = new_id()
            await tx.execute(store.INSERT_WAVE, {"id": wave_id, **lane_params, "at": now})
            await tx.execute(store.GROW_WAVE, {**grow, "id": wave_id})
        joined = {"order_id": order_id, "wave_id": wave_id, "lines": lines, "units": units}
        await tx.execute(store.JOIN_WAVE, joined)
    return centres


async def leave_waves(tx: Tx, order_id: str) -> None:
    """A cancelled order leaves its waves that have not gone to the floor."""
    for joined in await tx.fetch_all(store.WAVES_OF_ORDER, {"order_id": order_id}):
        if joined["status"] != "OPEN":
            continue
        await tx.execute(store.LEAVE_WAVE, {"order_id": order_id, "wave_id": joined["wave_id"]})
        params = {"id": joined["wave_id"], "lines": joined["lines"], "units": joined["units"]}
        await tx.execute(store.SHRINK_WAVE, params)


async def _last_wave_out(tx: Tx, wave_id: str) -> list[str]:
    """The orders of the wave (released in this transaction) that wait for a wave of
    another centre still open: they go to their picks when it is released. Each is locked
    first, so that two of its waves released at once do not each leave it to the other."""
    waiting = []
    for row in await tx.fetch_all(store.SPLIT_ORDERS_OF_WAVE, {"wave_id": wave_id}):
        await orchestrator.lock(tx, row["order_id"])
        still = await tx.fetch_one(store.OPEN_WAVES_OF_ORDER, {"order_id": row["order_id"]})
        if still is not None and int(still["n"]):
            waiting.append(row["order_id"])
    return waiting


async def release_wave(
    db: Database, rules: FulfillmentPolicy, wave_id: str, by: str | None
) -> dict[str, Any]:
    """Send the wave to the floor: `wave.released`, and each of its orders' fulfillment goes
    on to its picks, in the same transaction."""

    async def work(tx: Tx) -> dict[str, Any]:
        wave = await _wave(tx, wave_id)
        if wave["status"] != "OPEN":
            raise WaveNotOpen(f"wave {wave_id} is {wave['status']}", wave_status=wave["status"])
        await tx.execute(store.RELEASE_WAVE, {"id": wave_id, "at": utcnow(), "by": by})
        orders = [
            row["order_id"] for row in await tx.fetch_all(store.WAVE_ORDERS, {"wave_id": wave_id})
        ]
        released = WaveReleased(
            wave_id=wave_id,
            dc=wave["dc"],
            zone=wave["zone"],
            carrier=wave["carrier"],
            cutoff=wave["cutoff"],
            order_ids=orders,
            released_by=by,
        )
        told = new_message(released, source=SOURCE, aggregate_id=wave_id)
        await emit(tx, told)
        waiting = set(await _last_wave_out(tx, wave_id))
        for order_id in orders:
            if order_id not in waiting:
                await orchestrator.signal(tx, rules, order_id, told)
        return await wave_view(tx, wave_id)

    return await db.transaction(work)


async def release_due(db: Database, rules: FulfillmentPolicy, lead: float) -> int:
    """The schedule: release the open waves whose carrier comes within `lead` seconds."""
    before = utcnow() + timedelta(seconds=lead)
    rows = await db.read(lambda tx: tx.fetch_all(store.DUE_WAVES, {"before": before, "limit": 50}))
    released = 0
    for row in rows:
        try:
            await release_wave(db, rules, row["id"], None)
        except WaveNotOpen:
            continue
        released += 1
    return released


async def _wave(tx: Tx, wave_id: str) -> Row:
    wave = await tx.fetch_one(store.GET_WAVE, {"id": wave_id})
    if wave is None:
        raise WaveNotFound(f"wave {wave_id} does not exist")
    return wave


async def wave_view(tx: Tx, wave_id: str) -> dict[str, Any]:
    wave = dict(await _wave(tx, wave_id))
    orders = await tx.fetch_all(store.WAVE_ORDERS, {"wave_id": wave_id})
    tasks = await tx.fetch_all(store.TASKS_OF_WAVE, {"wave_id": wave_id})
    return {
        **wave,
        "order_ids": [row["order_id"] for row in orders],
        "pick_tasks": [task_view(task) for task in tasks],
    }


async def list_waves(db: Database, status: str | None, limit: int) -> list[dict[str, Any]]:
    if status is None:
        rows = await db.read(lambda tx: tx.fetch_all(store.ALL_WAVES, {"limit": limit}))
    else:
        params = {"status": status, "limit": limit}
        rows = await db.read(lambda tx: tx.fetch_all(store.WAVES, params))
    return [dict(row) for row in rows]


# Picks


async def create_picks_on_command(tx: Tx, message: Envelope) -> None:
    """The orchestrator's `fulfillment.picks.create`: a task per allocated lot (once)."""
    order_id = message.data["orderId"]
    if await tx.fetch_all(store.TASKS_OF_ORDER, {"order_id": order_id}):
        return
    allocation = await _allocation(tx, order_id)
    wave_of = {
        row["dc"]: row["wave_id"]
        for row in await tx.fetch_all(store.WAVES_OF_ORDER, {"order_id": order_id})
    }
    gtins: dict[str, str | None] = {}
    for product_id in {row["product_id"] for row in allocation}:
        product = await tx.fetch_one(store.PRODUCT, {"product_id": product_id})
        gtins[product_id] = None if product is None else product["gtin"]
    now = utcnow()
    await tx.execute_many(
        store.INSERT_TASK,
        [
            {
                "id": new_id(),
                "order_id": order_id,
                "wave_id": wave_of.get(row["dc"]),
                "product_id": row["product_id"],
                "gtin": gtins.get(row["product_id"]),
                "dc": row["dc"],
                "lot": row["lot"],
                "expires_on": row["expires_on"],
                "location": f"{row['dc']}/{ZONE}/{row['lot']}",
                "quantity": int(row["quantity"]),
                "picked": [],
                "at": now,
            }
            for row in allocation
        ],
    )


async def wms_order(tx: Tx, order_id: str, carrier: str) -> dict[str, Any]:
    """The order as an external WMS is sent it: its allocated lots, their GTINs, where it
    goes and with which carrier."""
    allocation = await _allocation(tx, order_id)
    shipments = await tx.fetch_all(store.BY_ORDER, {"order_id": order_id})
    lines = []
    for row in allocation:
        product = await tx.fetch_one(store.PRODUCT, {"product_id": row["product_id"]})
        lines.append(
            {
                "product_id": row["product_id"],
                "gtin": None if product is None else product["gtin"],
                "dc": row["dc"],
                "lot": row["lot"],
                "expires_on": row["expires_on"],
                "quantity": int(row["quantity"]),
            }
        )
    ship_to = shipments[0]["shipping_address"] if shipments else None
    return {"order_id": order_id, "carrier": carrier, "ship_to": ship_to, "lines": lines}


async def record_picked(
    tx: Tx, rules: FulfillmentPolicy, order_id: str, lots: list[dict[str, Any]]
) -> None:
    """What an external WMS picked for the order, as closed pick tasks (once): a lot it did
    not find all of (`short` units) closes short, as on the own floor. The order's picking is
    complete (`pick.completed`), and its units short are backordered or cancelled."""
    if await tx.fetch_all(store.TASKS_OF_ORDER, {"order_id": order_id}):
        return
    now = utcnow()
    shorts: dict[str, int] = {}
    for lot in lots:
        serials = list(lot.get("serials") or [])
        quantity = int(lot["quantity"])
        short = int(lot.get("short") or 0)
        picked = quantity - short
        task_id = new_id()
        params = {
            "id": task_id,
            "order_id": order_id,
            "wave_id": None,
            "product_id": lot["product_id"],
            "gtin": lot.get("gtin"),
            "dc": lot.get("dc") or "",
            "lot": lot["lot"],
            "expires_on": lot.get("expires_on"),
            "location": "WMS",
            "quantity": quantity,
            "picked": (serials + [""] * picked)[:picked],
            "at": now,
        }
        await tx.execute(store.INSERT_TASK, params)
        if short:
            shorts[task_id] = short
    for task_id, short in shorts.items():
        task = await _reread(tx, task_id)
        await _write_task(tx, task, list(task["picked"]), "SHORT", short)
    await tx.execute(store.CLOSE_REPORTED_TASKS, {"order_id": order_id, "at": now})
    await _maybe_completed(tx, rules, order_id)


def task_view(row: Row) -> dict[str, Any]:
    picked = list(row["picked"])
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "wave_id": row["wave_id"],
        "product_id": row["product_id"],
        "gtin": row["gtin"],
        "dc": row["dc"],
        "lot": row["lot"],
        "expires_on": row["expires_on"],
        "location": row["location"],
        "quantity": int(row["quantity"]),
        "picked": len(picked),
        "serials": [serial for serial in picked if serial],
        "short": int(row["short"]),
        "status": row["status"],
    }


async def _task(tx: Tx, task_id: str) -> Row:
    task = await tx.fetch_one(store.GET_TASK, {"id": task_id})
    if task is None:
        raise PickTaskNotFound(f"pick task {task_id} does not exist")
    if task["status"] != "OPEN":
        raise PickTaskClosed(f"pick task {task_id} is {task['status']}", task_status=task["status"])
    return task


def _rule(task: Row) -> picking.PickTask:
    expires = task["expires_on"]
    return picking.PickTask(
        id=task["id"],
        gtin=task["gtin"] or "",
        lot=task["lot"],
        expires_on=None if expires is None else date.fromisoformat(expires),
        location=task["location"],
        quantity=int(task["quantity"]),
        picked=tuple(task["picked"]),
    )


async def confirm_pick(
    db: Database,
    rules: FulfillmentPolicy,
    task_id: str,
    *,
    barcode: str | None,
    count: int | None,
    today: date,
) -> dict[str, Any]:
    """One scanned unit (or `count` units of a product without a GTIN) picked for the task;
    a scan that does not fit is refused (`picking.ScanRefused`) and changes nothing."""

    async def work(tx: Tx) -> dict[str, Any]:
        task = await _task(tx, task_id)
        rule = _rule(task)
        if task["gtin"] is None:
            if count is None:
                raise CountNeeded(f"pick task {task_id}: count the units, there is nothing to scan")
            if not 1 <= count <= rule.remaining:
                raise picking.ScanRefused(
                    picking.Refusal.DONE, f"{count} units: the task has {rule.remaining} to pick"
                )
            taken = [""] * count
        else:
            if barcode is None:
                raise ScanNeeded(f"pick task {task_id}: scan each unit's barcode")
            lots = {
                row["lot"]
                for row in await tx.fetch_all(store.ALLOCATION, {"order_id": task["order_id"]})
            }
            taken = [picking.check_scan(rule, picking.read_scan(barcode), today, lots)]
        picked = [*task["picked"], *taken]
        done = len(picked) >= rule.quantity
        await _write_task(tx, task, picked, "PICKED" if done else "OPEN", 0)
        if done:
            await _maybe_completed(tx, rules, task["order_id"])
        return task_view(await _reread(tx, task_id))

    return await db.transaction(work)


async def close_short(db: Database, rules: FulfillmentPolicy, task_id: str) -> dict[str, Any]:
    """The shelf has no more: the task closes with what was picked; the rest is short (and
    backordered or its line cancelled, as the warehouse is configured)."""

    async def work(tx: Tx) -> dict[str, Any]:
        task = await _task(tx, task_id)
        outcome = picking.short_pick(_rule(task), rules.short)
        missing = outcome.backordered + outcome.cancelled
        await _write_task(tx, task, list(task["picked"]), "SHORT", missing)
        await _maybe_completed(tx, rules, task["order_id"])
        return task_view(await _reread(tx, task_id))

    return await db.transaction(work)


async def _write_task(tx: Tx, task: Row, picked: list[str], status: str, short: int) -> None:
    params = {
        "id": task["id"],
        "picked": picked,
        "status": status,
        "short": short,
        "at": utcnow(),
        "version": task["version"],
    }
    if not await tx.execute(store.PICK, params):
        raise Conflict(f"pick task {task['id']} changed meanwhile; scan again")


async def _reread(tx: Tx, task_id: str) -> Row:
    task = await tx.fetch_one(store.GET_TASK, {"id": task_id})
    assert task is not None
    return task


def _lots(tasks: list[Row]) -> list[PickedLot]:
    return [
        PickedLot(
            product_id=task["product_id"],
            dc=task["dc"],
            lot=task["lot"],
            quantity=len(task["picked"]),
            serials=[serial for serial in task["picked"] if serial],
            short=int(task["short"]),
        )
        for task in tasks
    ]


async def _maybe_completed(tx: Tx, rules: FulfillmentPolicy, order_id: str) -> None:
    """With no task of the order open, its picking is complete: `pick.completed`. The order
    is locked first, so that its last two tasks closed at once do not each leave it to the
    other."""
    await orchestrator.lock(tx, order_id)
    tasks = await tx.fetch_all(store.TASKS_OF_ORDER, {"order_id": order_id})
    live = [task for task in tasks if task["status"] != "CANCELLED"]
    if any(task["status"] == "OPEN" for task in live):
        return
    told = new_message(
        PickCompleted(order_id=order_id, lots=_lots(live)), source=SOURCE, aggregate_id=order_id
    )
    await emit(tx, told)
    await backorders.record_short(tx, rules, order_id, live)
    await orchestrator.signal(tx, rules, order_id, told)


async def list_tasks(
    db: Database, *, wave_id: str | None, order_id: str | None
) -> list[dict[str, Any]]:
    if order_id is not None:
        rows = await db.read(lambda tx: tx.fetch_all(store.TASKS_OF_ORDER, {"order_id": order_id}))
    else:
        rows = await db.read(lambda tx: tx.fetch_all(store.TASKS_OF_WAVE, {"wave_id": wave_id}))
    return [task_view(row) for row in rows]


async def cancel_picks_on_command(tx: Tx, message: Envelope) -> None:
    """Undo the order's picks: its tasks close, and the units picked go back to their shelves
    (`pick.cancelled`; inventory restocks what `pick.completed` took off hand)."""
    order_id = message.data["orderId"]
    tasks = await tx.fetch_all(store.TASKS_OF_ORDER, {"order_id": order_id})
    await tx.execute(store.CANCEL_TASKS, {"order_id": order_id, "at": utcnow()})
    await backorders.cancel_open_on_order_undone(tx, order_id)
    lots = [lot for lot in _lots(list(tasks)) if lot.quantity or lot.short]
    cancelled = PickCancelled(order_id=order_id, lots=lots)
    await emit(tx, answering(message, cancelled, source=SOURCE, aggregate_id=order_id))


# Packing


async def create_pack_on_command(tx: Tx, message: Envelope, rules: FulfillmentPolicy) -> None:
    """Open the order's packing in each centre it was picked in; an external WMS that
    packed it already said so."""
    order_id = message.data["orderId"]
    now = utcnow()
    for row in await tx.fetch_all(store.ALLOCATED_DCS, {"order_id": order_id}):
        await tx.execute(store.OPEN_PACK, {"order_id": order_id, "dc": row["dc"], "at": now})
    if rules.external:
        await orchestrator.lock(tx, order_id)
        packs = await tx.fetch_all(store.PACKS_OF_ORDER, {"order_id": order_id})
        await _maybe_packed(tx, rules, order_id, [dict(row) for row in packs])


async def pack(
    db: Database,
    rules: FulfillmentPolicy,
    order_id: str,
    packages: int,
    by: str,
    dc: str | None = None,
) -> dict[str, Any]:
    """The order is packed in `packages` parcels at `dc` (needed only if it is packed in
    more than one centre): once it is packed everywhere, the carrier may take it. Its
    packing there. The order is locked first, so that its last two centres packed at once
    do not each leave it to the other."""

    async def work(tx: Tx) -> dict[str, Any]:
        await orchestrator.lock(tx, order_id)
        packs = [
            dict(row) for row in await tx.fetch_all(store.PACKS_OF_ORDER, {"order_id": order_id})
        ]
        open_ = [row["dc"] for row in packs if row["status"] == "OPEN"]
        if dc is None and len(open_) > 1:
            raise PackWhere(
                f"order {order_id} is packed in {', '.join(open_)}: say which", open_dcs=open_
            )
        where = dc if dc is not None else (open_[0] if open_ else "")
        now = utcnow()
        params = {"order_id": order_id, "dc": where, "packages": packages, "at": now, "by": by}
        if where not in open_ or not await tx.execute(store.PACK, params):
            raise PackNotOpen(f"order {order_id} is not waiting to be packed at {where or 'all'}")
        packed = next(row for row in packs if row["dc"] == where)
        packed.update(status="PACKED", packages=packages, packed_at=now, packed_by=by)
        await _maybe_packed(tx, rules, order_id, packs)
        return packed

    return await db.transaction(work)


async def _maybe_packed(
    tx: Tx, rules: FulfillmentPolicy, order_id: str, packs: list[dict[str, Any]]
) -> None:
    """With the order packed in every centre (`packs`, read under its lock), `pack.completed`
    (all its parcels)."""
    live = [row for row in packs if row["status"] != "CANCELLED"]
    if not live or any(row["status"] != "PACKED" for row in live):
        return
    packages = sum(1 if row["packages"] is None else int(row["packages"]) for row in live)
    told = new_message(
        PackCompleted(order_id=order_id, packages=packages), source=SOURCE, aggregate_id=order_id
    )
    await emit(tx, told)
    await orchestrator.signal(tx, rules, order_id, told)


async def record_packed(tx: Tx, rules: FulfillmentPolicy, order_id: str, packages: int) -> None:
    """An external WMS packed the order in `packages` parcels (once): the carrier may take
    it."""
    now = utcnow()
    dcs = [row["dc"] for row in await tx.fetch_all(store.ALLOCATED_DCS, {"order_id": order_id})]
    packed = False
    for n, dc in enumerate(dcs or [""]):
        await tx.execute(store.OPEN_PACK, {"order_id": order_id, "dc": dc, "at": now})
        # the parcels it reported, counted once
        params = {"order_id": order_id, "dc": dc, "packages": packages if n == 0 else 0}
        packed = bool(await tx.execute(store.PACK, {**params, "at": now, "by": "wms"})) or packed
    if packed:
        await orchestrator.lock(tx, order_id)
        packs = await tx.fetch_all(store.PACKS_OF_ORDER, {"order_id": order_id})
        await _maybe_packed(tx, rules, order_id, [dict(row) for row in packs])


async def list_packs(db: Database, status: str, limit: int) -> list[dict[str, Any]]:
    params = {"status": status, "limit": limit}
    return [dict(row) for row in await db.read(lambda tx: tx.fetch_all(store.PACKS, params))]


async def cancel_pack_on_command(tx: Tx, message: Envelope) -> None:
    order_id = message.data["orderId"]
    await tx.execute(store.CANCEL_PACK, {"order_id": order_id})
    told = PackCancelled(order_id=order_id)
    await emit(tx, answering(message, told, source=SOURCE, aggregate_id=order_id))


def tracking_number() -> str:
    """A shipment's tracking number as seed 000 prints one (`SHP-98234`), unguessable."""
    return f"SHP-{secrets.randbelow(10**10):010d}"


async def escalations(db: Database, limit: int) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.ESCALATIONS, {"limit": limit}))
    return [dict(row) for row in rows]
