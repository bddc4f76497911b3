"""The mail log's retention, as the deployment configures it: mails older than the cutoff go,
unless their order is kept by a legal hold."""

from collections.abc import Collection
from datetime import datetime

from orderly.storage import Database, sql

_COUNT = sql(
    "SELECT COUNT(*) AS n FROM mails WHERE created_at < :before"
    " AND (order_id IS NULL OR NOT (order_id IN :orders))",
    lists=("orders",),
)
_PRUNE = sql(
    "DELETE FROM mails WHERE created_at < :before"
    " AND (order_id IS NULL OR NOT (order_id IN :orders))",
    lists=("orders",),
)


async def expired_mails(db: Database, before: datetime, held_orders: Collection[str]) -> int:
    params = {"before": before, "orders": sorted(held_orders)}
    row = await db.read(lambda tx: tx.fetch_one(_COUNT, params))
    return int(row["n"]) if row else 0


async def prune_mails(db: Database, before: datetime, held_orders: Collection[str]) -> int:
    params = {"before": before, "orders": sorted(held_orders)}
    return await db.transaction(lambda tx: tx.execute(_PRUNE, params))
