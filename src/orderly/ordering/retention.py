"""Orders past their retention: found, read whole for the archive, then removed (seed 004
keeps orders seven years). Only an order that ended (delivered, cancelled, failed) and has not
changed since the cutoff goes; the caller leaves out those under a legal hold."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from orderly.ordering.domain import OrderStatus
from orderly.storage import Database, Row, Tx, sql

ENDED = [
    OrderStatus.DELIVERED.value,
    OrderStatus.CANCELLED.value,
    OrderStatus.PAYMENT_FAILED.value,
    OrderStatus.FAILED.value,
]

_EXPIRED = sql(
    "SELECT id, account_id FROM orders WHERE updated_at < :before AND status IN :ended"
    " AND id > :after ORDER BY id LIMIT :limit",
    lists=("ended",),
)
_ORDERS = sql("SELECT * FROM orders WHERE id IN :ids ORDER BY id", lists=("ids",))
_ITEMS = sql(
    "SELECT * FROM order_items WHERE order_id IN :ids ORDER BY order_id, line_no", lists=("ids",)
)
_CREDITS = sql(
    "SELECT * FROM order_credits WHERE order_id IN :ids ORDER BY order_id, created_at",
    lists=("ids",),
)
_HISTORY = sql(
    "SELECT * FROM order_history WHERE order_id IN :ids ORDER BY order_id, id", lists=("ids",)
)
_SAGAS = sql("SELECT * FROM sagas WHERE id IN :ids ORDER BY id", lists=("ids",))
# an order changed since it was read for the archive stays
_STILL_EXPIRED = sql(
    "SELECT id FROM orders WHERE id IN :ids AND updated_at < :before AND status IN :ended",
    lists=("ids", "ended"),
)
_OF_ACCOUNTS = sql("SELECT id FROM orders WHERE account_id IN :accounts", lists=("accounts",))
_REMOVE = [
    sql(
        "DELETE FROM cart_items WHERE cart_id IN (SELECT id FROM carts WHERE order_id IN :ids)",
        lists=("ids",),
    ),
    *(
        sql(f"DELETE FROM {table} WHERE {column} IN :ids", lists=("ids",))
        for table, column in (
            ("carts", "order_id"),
            ("idempotency_keys", "order_id"),
            ("order_history", "order_id"),
            ("order_items", "order_id"),
            ("order_credits", "order_id"),
            ("sagas", "id"),
            ("orders", "id"),
        )
    ),
]


async def expired(db: Database, before: datetime, after: str, limit: int) -> list[Row]:
    """Orders that ended and last changed before `before`, by id, `after` the last one read:
    their id and account."""
    return await db.read(
        lambda tx: tx.fetch_all(
            _EXPIRED, {"before": before, "ended": ENDED, "after": after, "limit": limit}
        )
    )


async def of_accounts(db: Database, accounts: Collection[str]) -> set[str]:
    """Every order of `accounts`, whatever its state."""
    if not accounts:
        return set()
    rows = await db.read(lambda tx: tx.fetch_all(_OF_ACCOUNTS, {"accounts": sorted(accounts)}))
    return {row["id"] for row in rows}


async def whole(db: Database, ids: Collection[str]) -> list[dict[str, Any]]:
    """The orders as the archive keeps them: each row with its lines, credits, history and
    checkout saga."""

    async def work(tx: Tx) -> list[dict[str, Any]]:
        params = {"ids": sorted(ids)}
        parts: dict[str, dict[str, list[Row]]] = {}
        for name, stmt, key in (
            ("items", _ITEMS, "order_id"),
            ("credits", _CREDITS, "order_id"),
            ("history", _HISTORY, "order_id"),
            ("sagas", _SAGAS, "id"),
        ):
            for row in await tx.fetch_all(stmt, params):
                parts.setdefault(row[key], {}).setdefault(name, []).append(row)
        orders = await tx.fetch_all(_ORDERS, params)
        return [
            {
                "order": dict(order),
                **{
                    name: [dict(row) for row in parts.get(order["id"], {}).get(name, [])]
                    for name in ("items", "credits", "history", "sagas")
                },
            }
            for order in orders
        ]

    return await db.read(work)


async def remove(db: Database, ids: Collection[str], before: datetime) -> list[str]:
    """Remove the orders of `ids` that are still past retention, with their lines, credits,
    history, saga, checked-out cart and idempotency key, in one transaction; the ids removed."""

    async def work(tx: Tx) -> list[str]:
        still = await tx.fetch_all(
            _STILL_EXPIRED, {"ids": sorted(ids), "before": before, "ended": ENDED}
        )
        gone = sorted(row["id"] for row in still)
        if gone:
            for stmt in _REMOVE:
                await tx.execute(stmt, {"ids": gone})
        return gone

    return await db.transaction(work)
