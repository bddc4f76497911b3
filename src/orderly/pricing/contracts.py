"""Contracts: the prices an account, a segment or a GPO pays instead of WAC, by tier."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, to_cents
from orderly.pricing import domain, store
from orderly.storage import Database, Row, Tx


class ContractNotFound(NotFound):
    code = "contract_not_found"
    title = "Contract not found"


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
