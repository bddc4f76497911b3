"""The B2B accounts inventory knows of, and the minimum shelf life each accepts."""

from typing import Any

from orderly.inventory import store
from orderly.inventory.errors import AccountNotFound
from orderly.storage import Database, Tx


async def add_account(tx: Tx, account_id: str) -> None:
    """Identity opened a B2B account: its shelf life may be set from now on (once only)."""
    await tx.execute(store.INSERT_ACCOUNT, {"account_id": account_id})


async def set_shelf_life(db: Database, account_id: str, days: int) -> dict[str, Any]:
    """The minimum shelf life, in days, of what this account's orders are sent; only for an
    account identity has opened (`account.created`)."""

    async def work(tx: Tx) -> None:
        if await tx.fetch_one(store.KNOWN_ACCOUNT, {"account_id": account_id}) is None:
            raise AccountNotFound(f"there is no account {account_id}")
        await tx.execute(store.SET_SHELF_LIFE, {"account_id": account_id, "days": days})

    await db.transaction(work)
    return {"account_id": account_id, "days": days}


async def shelf_life_days(tx: Tx, account: str | None) -> int:
    """The minimum shelf life of what `account`'s orders are sent (0: none set)."""
    policy = await tx.fetch_one(store.SHELF_LIFE, {"account_id": account}) if account else None
    return int(policy["days"]) if policy else 0
