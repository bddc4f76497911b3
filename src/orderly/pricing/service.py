"""Pricing commands, the price query, price locks, and the messages pricing follows."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import Envelope, emit, new_message
from orderly.pricing import domain, store
from orderly.pricing.domain import Buyer, ContractPrice, Quote
from orderly.pricing.messages import PRICE_LOCK_VOIDED, PRICE_LOCKED, SOURCE
from orderly.storage import Database, Row, Tx

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
    if message.data.get("price") is not None:
        product_id = str(message.data["productId"])
        await _set(tx, store.SET_WAC, product_id, Decimal(message.data["price"]))


async def wac_on_product_updated(tx: Tx, message: Envelope) -> None:
    if message.data.get("price") is not None:
        product_id = str(message.data["productId"])
        await _set(tx, store.SET_WAC, product_id, Decimal(message.data["price"]))


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    data = message.data
    params = {
        "account_id": data["accountId"],
        "segment": data["segment"],
        "is_340b": data.get("id340b") is not None,
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
    if effective_from is not None:
        domain.check_effective_from(effective_from, utcnow().date())
    await db.transaction(lambda tx: _set(tx, store.SET_WAC, product_id, price, effective_from))


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


async def create_contract(db: Database, new: NewContract) -> dict[str, Any]:
    domain.check_dates(new.starts_on, new.ends_on)
    tiers = [(line.product_id, line.min_quantity) for line in new.lines]
    if len(set(tiers)) != len(tiers):
        raise domain.InvalidPrice("a product's tier (minimum quantity) appears twice")
    contract_id = new_id()

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
        for r in await tx.fetch_all(store.PRODUCT_OFFERS, {"product_id": product_id})
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
    now = utcnow()
    who = await buyer(tx, account_id)
    quotes = []
    for line in lines:
        found = await _quote(tx, who, line.product_id, line.quantity, now.date())
        if found is None:
            raise NoPrice(f"product {line.product_id} has no price", product_ids=[line.product_id])
        quotes.append((line, found))
    for line, found in quotes:
        await tx.execute(
            store.INSERT_LOCK,
            {
                "order_id": order_id,
                "line": line.line,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "cents": found.cents,
                "source": found.source.value,
                "contract_id": found.contract_id,
                "effective_date": found.effective_date.isoformat(),
                "at": now,
            },
        )
    locked = [
        _lock_view(row) for row in await tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id})
    ]
    data = {"orderId": order_id, "items": locked}
    await emit(tx, new_message(PRICE_LOCKED, data, source=SOURCE, aggregate_id=order_id))
    return locked


async def void_locks(tx: Tx, order_id: str) -> bool:
    """Compensation: the order's locked prices no longer hold (`price.lock_voided`)."""
    if not await tx.execute(store.VOID_LOCKS, {"order_id": order_id}):
        return False
    await emit(
        tx,
        new_message(PRICE_LOCK_VOIDED, {"orderId": order_id}, source=SOURCE, aggregate_id=order_id),
    )
    return True


async def order_locks(db: Database, order_id: str) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.ORDER_LOCKS, {"order_id": order_id}))
    return [_lock_view(row) for row in rows]
