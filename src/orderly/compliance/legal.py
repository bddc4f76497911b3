"""Legal holds: an operator keeps an order's, or an account's, records from retention while an
investigation or a dispute is open, and lifts the hold when it is over. Suspicious order holds
still open, or reported, keep their orders too."""

from dataclasses import dataclass
from typing import Any

from orderly.compliance import store
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.storage import Database, Row, Tx

KINDS = ("investigation", "dispute", "litigation")


class LegalHoldNotFound(NotFound):
    code = "legal_hold_not_found"
    title = "Legal hold not found"


class LegalHoldLifted(Conflict):
    code = "legal_hold_lifted"
    title = "The legal hold was lifted already"


class HoldNamesNothing(Unprocessable):
    code = "legal_hold_names_nothing"
    title = "A legal hold names an order or an account"


@dataclass(frozen=True)
class Held:
    """What retention must keep."""

    orders: frozenset[str]
    accounts: frozenset[str]

    def keeps(self, order_id: str, account_id: str | None) -> bool:
        return order_id in self.orders or (account_id is not None and account_id in self.accounts)


async def place(
    db: Database,
    caller: Principal,
    order_id: str | None,
    account_id: str | None,
    kind: str,
    reason: str,
) -> dict[str, Any]:
    if not order_id and not account_id:
        raise HoldNamesNothing("name the order, the account, or both")
    hold = {
        "id": new_id(),
        "order_id": order_id,
        "account_id": account_id,
        "kind": kind,
        "reason": reason,
        "placed_by": caller.user_id,
        "placed_at": utcnow(),
    }
    await db.transaction(lambda tx: tx.execute(store.INSERT_LEGAL_HOLD, hold))
    return {**hold, "lifted_by": None, "lifted_at": None}


async def lift(db: Database, caller: Principal, hold_id: str) -> Row:
    async def work(tx: Tx) -> Row:
        lifted = await tx.execute(
            store.LIFT_LEGAL_HOLD, {"id": hold_id, "by": caller.user_id, "at": utcnow()}
        )
        row = await tx.fetch_one(store.LEGAL_HOLD, {"id": hold_id})
        if row is None:
            raise LegalHoldNotFound(f"legal hold {hold_id} does not exist")
        if not lifted:
            raise LegalHoldLifted(f"legal hold {hold_id} was lifted at {row['lifted_at']}")
        return row

    return await db.transaction(work)


async def listed(db: Database, in_force: bool) -> list[Row]:
    return await db.read(lambda tx: tx.fetch_all(store.LEGAL_HOLDS, {"in_force": int(in_force)}))


async def held(db: Database) -> Held:
    """Every order and account retention must keep, read at once."""

    async def work(tx: Tx) -> Held:
        orders = await tx.fetch_all(store.HELD_ORDERS)
        accounts = await tx.fetch_all(store.HELD_ACCOUNTS)
        return Held(
            frozenset(row["order_id"] for row in orders),
            frozenset(row["account_id"] for row in accounts),
        )

    return await db.read(work)
