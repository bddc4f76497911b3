"""Pricing commands, the price query, price locks, and the messages pricing follows."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
import structlog

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.identity.messages import AccountCreated
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import Envelope, emit, new_message
from orderly.ordering.messages import OrderCancelled, OrderCreated
from orderly.pricing import domain, store
from orderly.pricing.domain import Buyer, ContractPrice, Quote
from orderly.pricing.messages import (
    SOURCE,
    LockedLine,
    PriceLocked,
    PriceLockVoided,
    PriceWacChanged,
)
from orderly.storage import Database, Row, Tx

log = structlog.get_logger(__name__)

CURRENCY = "USD"


class NoPrice(Unprocessable):
    code = "no_price"
    title = "Product has no price"


class ContractNotFound(NotFound):
    code = "contract_not_found"
    title = "Contract not found"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _price(row: Row | None) -> tuple[int, date] | None:
    if row is None:
        return None
    return int(row["cents"]), date.fromisoformat(row["effective_from"])


def quote_view(product_id: str, quantity: int, found: Quote) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "quantity": quantity,
        "price": str(from_cents(found.cents)),
        "currency": CURRENCY,
        "source": found.source.value,
        "contract_id": found.contract_id,
        "min_quantity": found.min_quantity,
        "effective_date": found.effective_date.isoformat(),
    }


# -- list prices and accounts, from other contexts' messages --------------------------------


async def wac_on_product_created(tx: Tx, message: Envelope) -> None:
    """A new product's price is its WAC from today (a product may come without one)."""
    product = message.read(ProductCreated)
    if product.price is not None:
        await _set_catalog_wac(tx, product.product_id, product.price)


async def wac_on_product_updated(tx: Tx, message: Envelope) -> None:
    changed = message.read(ProductUpdated)
    if isinstance(changed.price, Decimal):
        await _set_catalog_wac(tx, changed.product_id, changed.price)


async def wac_from_catalog(db: Database, product_id: str, price: Decimal) -> None:
    """Catalog made or re-priced a product: its price is its WAC from today."""
    await db.transaction(lambda tx: _set_catalog_wac(tx, product_id, price))


async def _set_catalog_wac(tx: Tx, product_id: str, price: Decimal) -> None:
    # catalog shows this price already: nobody needs telling
    params = {
        "product_id": product_id,
        "effective_from": utcnow().date().isoformat(),
        "cents": to_cents(price),
        "announced": True,
    }
    await tx.execute(store.SET_WAC, params)


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    account = message.read(AccountCreated)
    params = {
        "account_id": account.account_id,
        "segment": account.segment,
        "is_340b": account.id340b is not None,
    }
    await tx.execute(store.UPSERT_ACCOUNT, params)


async def _set(
    tx: Tx, stmt: Any, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    day = (effective_from or utcnow().date()).isoformat()
    params = {"product_id": product_id, "effective_from": day, "cents": to_cents(price)}
    await tx.execute(stmt, params)


async def set_wac(
    db: Database, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    """An operator sets a product's WAC from a day on. One in force at once is announced
    (`price.wac_changed`) with it; one set ahead, on its day (`announce_due_wacs`)."""
    today = utcnow().date()
    if effective_from is not None:
        domain.check_effective_from(effective_from, today)
    day = effective_from or today

    async def work(tx: Tx) -> None:
        params = {
            "product_id": product_id,
            "effective_from": day.isoformat(),
            "cents": to_cents(price),
            "announced": day <= today,
        }
        await tx.execute(store.SET_WAC, params)
        if day <= today:
            await _announce_wac(tx, product_id, today)

    await db.transaction(work)


async def _announce_wac(tx: Tx, product_id: str, today: date) -> None:
    """Tell the other contexts the product's WAC in force `today`."""
    params = {"product_id": product_id, "day": today.isoformat()}
    current = _price(await tx.fetch_one(store.CURRENT_WAC, params))
    if current is None:
        return
    cents, since = current
    changed = PriceWacChanged(product_id=product_id, price=from_cents(cents), effective_date=since)
    await emit(tx, new_message(changed, source=SOURCE, aggregate_id=product_id))


async def announce_due_wacs(db: Database, today: date | None = None) -> int:
    """Announce the WACs set ahead whose day has come; how many there were."""
    day = today or utcnow().date()

    async def work(tx: Tx) -> int:
        due = await tx.fetch_all(store.UNANNOUNCED_WAC, {"day": day.isoformat()})
        for product_id in sorted({row["product_id"] for row in due}):
            await _announce_wac(tx, product_id, day)
        for row in due:
            await tx.execute(
                store.MARK_WAC_ANNOUNCED,
                {"product_id": row["product_id"], "effective_from": row["effective_from"]},
            )
        return len(due)

    return await db.transaction(work)


async def wac_announcer(db: Database, interval: float) -> None:
    """Every minute at most, announce the WACs whose day has come."""
    while True:
        try:
            await announce_due_wacs(db)
        except Exception as error:  # upkeep only: the next round tries again
            log.warning("announcing due list prices failed", error=type(error).__name__)
        await asyncio.sleep(max(interval, 60.0))


async def set_340b(
    db: Database, product_id: str, price: Decimal, effective_from: date | None = None
) -> None:
    if effective_from is not None:
        domain.check_effective_from(effective_from, utcnow().date())
    await db.transaction(lambda tx: _set(tx, store.SET_340B, product_id, price, effective_from))


async def set_gpo(db: Database, account_id: str, gpo: str | None) -> None:
    async def work(tx: Tx) -> None:
        if await tx.fetch_one(store.ACCOUNT, {"account_id": account_id}) is None:
            raise NotFound(f"account {account_id} is not known to pricing")
        await tx.execute(store.SET_GPO, {"account_id": account_id, "gpo": gpo})

    await db.transaction(work)


# -- contracts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractLine:
    product_id: str
    price: Decimal
    min_quantity: int = 1


@dataclass(frozen=True)
class NewContract:
    name: str
    kind: domain.ContractKind
    party: str
    starts_on: date
    ends_on: date | None
    lines: Sequence[ContractLine]
    # made here unless given (the demo's contract has a known one)
    id: str | None = None


async def create_contract(db: Database, new: NewContract) -> dict[str, Any]:
    domain.check_dates(new.starts_on, new.ends_on)
    tiers = [(line.product_id, line.min_quantity) for line in new.lines]
    if len(set(tiers)) != len(tiers):
        raise domain.InvalidPrice("a product's tier (minimum quantity) appears twice")
    contract_id = new.id or new_id()

    async def work(tx: Tx) -> None:
        await tx.execute(
            store.INSERT_CONTRACT,
            {
                "id": contract_id,
                "name": new.name,
                "kind": new.kind.value,
                "party": new.party,
                "starts_on": new.starts_on.isoformat(),
                "ends_on": new.ends_on.isoformat() if new.ends_on else None,
                "at": utcnow(),
            },
        )
        await tx.execute_many(
            store.INSERT_CONTRACT_PRICE,
            [
                {
                    "contract_id": contract_id,
                    "product_id": line.product_id,
                    "min_quantity": line.min_quantity,
                    "cents": to_cents(line.price),
                }
                for line in new.lines
            ],
        )

    await db.transaction(work)
    return await get_contract(db, contract_id)


async def get_contract(db: Database, contract_id: str) -> dict[str, Any]:
    async def work(tx: Tx) -> tuple[Row | None, list[Row]]:
        row = await tx.fetch_one(store.CONTRACT, {"id": contract_id})
        return row, await tx.fetch_all(store.CONTRACT_LINES, {"id": contract_id})

    row, lines = await db.read(work)
    if row is None:
        raise ContractNotFound(f"contract {contract_id} does not exist")
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "party": row["party"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "prices": [
            {
                "product_id": line["product_id"],
                "min_quantity": int(line["min_quantity"]),
                "price": str(from_cents(int(line["cents"]))),
            }
            for line in lines
        ],
    }


# -- the price a buyer pays ---------------------------------------------------------------


async def buyer(tx: Tx, account_id: str | None) -> Buyer:
    """What pricing knows of the account now (its own copy, not the token's claims)."""
    if account_id is None:
        return Buyer()
    row = await tx.fetch_one(store.ACCOUNT, {"account_id": account_id})
    if row is None:
        return Buyer(account=account_id)
    return Buyer(
        account=account_id, segment=row["segment"], gpo=row["gpo"], is_340b=bool(row["is_340b"])
    )


async def _quote(tx: Tx, who: Buyer, product_id: str, quantity: int, day: date) -> Quote | None:
    params = {"product_id": product_id, "day": day.isoformat()}
    wac = _price(await tx.fetch_one(store.CURRENT_WAC, params))
    special = _price(await tx.fetch_one(store.CURRENT_340B, params)) if who.is_340b else None
    # a contract reaches an account, its segment or its GPO: none reaches a consumer
    offered = {"product_id": product_id}
    rows = [] if who.account is None else await tx.fetch_all(store.PRODUCT_OFFERS, offered)
    offers = [
        ContractPrice(
            contract_id=r["contract_id"],
            kind=r["kind"],
            party=r["party"],
            starts_on=date.fromisoformat(r["starts_on"]),
            ends_on=_day(r["ends_on"]),
            min_quantity=int(r["min_quantity"]),
            cents=int(r["cents"]),
        )
        for r in rows
    ]
    return domain.quote(who, quantity, day, wac, offers, special)


async def price_for(
    db: Database, account_id: str | None, product_id: str, quantity: int = 1
) -> dict[str, Any]:
    """The caller's own price for `quantity` units of a product today, with its source."""
    day = utcnow().date()

    async def work(tx: Tx) -> Quote | None:
        return await _quote(tx, await buyer(tx, account_id), product_id, quantity, day)

    found = await db.read(work)
    if found is None:
        raise NoPrice(f"product {product_id} has no price", product_ids=[product_id])
    return quote_view(product_id, quantity, found)


async def quotes(
    db: Database, account_id: str | None, items: Sequence[tuple[str, int]]
) -> list[Quote | None]:
    """The price of each `(product, quantity)` for the account (or a consumer) today, on
    one snapshot; None for a product without a price."""
    day = utcnow().date()

    async def work(tx: Tx) -> list[Quote | None]:
        who = await buyer(tx, account_id)
        return [await _quote(tx, who, product_id, quantity, day) for product_id, quantity in items]

    return await db.read(work)


async def quotes_for(
    db: Database, account_id: str | None, items: Sequence[tuple[str, int]]
) -> list[dict[str, Any] | None]:
    """`quotes`, as `GET /api/v1/prices` answers each."""
    found = await quotes(db, account_id, items)
    return [
        None if quote is None else quote_view(product_id, quantity, quote)
        for (product_id, quantity), quote in zip(items, found, strict=True)
    ]


# -- price locks --------------------------------------------------------------------------


@dataclass(frozen=True)
class LockLine:
    line: str
    product_id: str
    quantity: int


def _lock_view(row: Row) -> dict[str, Any]:
    return {
        "line": row["line"],
        "productId": row["product_id"],
        "quantity": int(row["quantity"]),
        "price": str(from_cents(int(row["cents"]))),
        "source": row["source"],
        "contractId": row["contract_id"],
        "effectiveDate": row["effective_date"],
        "status": row["status"],
    }


async def lock_prices(
    tx: Tx, order_id: str, account_id: str | None, lines: Sequence[LockLine]
) -> list[dict[str, Any]]:
    """Snapshot each line's price for the order (`price.locked`); a repeat returns the same
    snapshot, and later list changes do not touch it. Every line must have a price."""
    existing = await tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id})
    if existing:
        return [_lock_view(row) for row in existing]
    today = utcnow().date()
    who = await buyer(tx, account_id)
    locks = []
    for line in lines:
        found = await _quote(tx, who, line.product_id, line.quantity, today)
        if found is None:
            raise NoPrice(f"product {line.product_id} has no price", product_ids=[line.product_id])
        locks.append(_lock_row(order_id, line, found))
    return await _lock(tx, order_id, locks)


def _lock_row(order_id: str, line: LockLine, found: Quote) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line": line.line,
        "product_id": line.product_id,
        "quantity": line.quantity,
        "cents": found.cents,
        "source": found.source.value,
        "contract_id": found.contract_id,
        "effective_date": found.effective_date.isoformat(),
    }


async def _lock(tx: Tx, order_id: str, locks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = utcnow()
    await tx.execute_many(store.INSERT_LOCK, [{**lock, "at": now} for lock in locks])
    # the caller saw no lock of this order in this transaction: these rows are all there is
    locked = [_lock_view({**lock, "status": "locked"}) for lock in locks]
    lines = [msgspec.convert(lock, LockedLine) for lock in locked]
    told = PriceLocked(order_id=order_id, items=lines)
    await emit(tx, new_message(told, source=SOURCE, aggregate_id=order_id))
    return locked


async def locks_follow_orders(tx: Tx, message: Envelope) -> None:
    """`order.created` locks the order's prices; `order.cancelled` voids them. Both come
    through one queue, in the order they were published."""
    if message.type == OrderCancelled.TYPE:
        await void_locks(tx, message.read(OrderCancelled).order_id)
    else:
        await _lock_order(tx, message.read(OrderCreated))


async def _lock_order(tx: Tx, order: OrderCreated) -> None:
    """An order is priced at its buyer's own quote as it is placed; pricing locks those
    figures for it (`price.locked`), which later list or contract changes do not touch. A
    line without a price (seed 001 allows one) is not locked, nor is an order cancelled
    already (its cancellation came first, after a retry)."""
    order_id = order.order_id
    if await tx.fetch_one(store.LOCKED_OR_VOIDED, {"order_id": order_id}):
        return
    locks = []
    for n, item in enumerate(order.items, start=1):
        if item.price is None:
            continue
        line = LockLine(str(n), item.product_id, item.quantity)
        found = Quote(
            cents=to_cents(item.price),
            source=domain.Source(item.price_source or domain.Source.WAC),
            contract_id=item.contract_id,
            effective_date=item.price_effective_date or utcnow().date(),
        )
        locks.append(_lock_row(order_id, line, found))
    if locks:
        await _lock(tx, order_id, locks)


async def void_locks(tx: Tx, order_id: str) -> bool:
    """Compensation: the order's locked prices no longer hold (`price.lock_voided`)."""
    await tx.execute(store.VOID_ORDER, {"order_id": order_id, "at": utcnow()})
    if not await tx.execute(store.VOID_LOCKS, {"order_id": order_id}):
        return False
    voided = PriceLockVoided(order_id=order_id)
    await emit(tx, new_message(voided, source=SOURCE, aggregate_id=order_id))
    return True


async def order_locks(db: Database, order_id: str) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id}))
    return [_lock_view(row) for row in rows]
