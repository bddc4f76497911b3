"""Keeping an event about orders, and moving the live projections with it, in one transaction:
the order view and the analytics are never behind the history, nor ahead of it."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from orderly.history import domain, store
from orderly.history.domain import Facts, Key
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope
from orderly.storage import Tx

ORDERS = "orders"
ANALYTICS = "analytics"
PROJECTIONS = (ORDERS, ANALYTICS)


def kept(message: Envelope) -> bool:
    """Whether the history keeps `message` (`concerns`: the rest cost no transaction)."""
    return message.type in domain.RECORDED and bool(domain.order_ids(message.data))


async def record_on_event(tx: Tx, message: Envelope) -> bool:
    """Keep the event once for each order it names; fold it into their live projections.
    Whether it was new (the event table is the consumer's inbox)."""
    fresh = []
    envelope = msgspec.to_builtins(message)
    now = utcnow()
    for order_id in domain.order_ids(message.data):
        added = await tx.execute(
            store.RECORD,
            {
                "order_id": order_id,
                "message_id": message.id,
                "type": message.type,
                "source": message.source,
                "occurred_at": message.occurred_at,
                "recorded_at": now,
                "envelope": envelope,
            },
        )
        if added:
            fresh.append(order_id)
    if message.type in domain.FOLDED:
        for order_id in fresh:
            await project(tx, order_id, message.type, message.data, message.occurred_at)
    return bool(fresh)


async def generations(tx: Tx) -> dict[str, int]:
    """The live generation of each projection."""
    rows = await tx.fetch_all(store.GENERATIONS)
    return {row["name"]: row["generation"] for row in rows}


async def project(tx: Tx, order_id: str, kind: str, data: dict[str, Any], at: datetime) -> None:
    """Fold the event into the order's row of the live order view, and what that changes
    into the live analytics."""
    row = await tx.fetch_one(store.LIVE_VIEW, {"order_id": order_id})
    assert row is not None, "history's first migration names every projection"
    found: Mapping[str, Any] | None = row if row["order_id"] is not None else None
    if found is None and tx.dialect == "postgresql":
        # Locking the generations may have waited for a rebuild's switch: PostgreSQL then
        # re-reads the locked rows, and the order's row joined to the old generation is not
        # the new one's. An order that seems new is read again under the generation locked.
        found = await tx.fetch_one(
            store.VIEW, {"generation": row["orders_generation"], "order_id": order_id}
        )
    before = Facts(order_id) if found is None else Facts.of(found)
    after = domain.fold(before, kind, data, at)
    await tx.execute(store.PUT_VIEW, {"generation": row["orders_generation"], **after.row()})
    for key, counts in domain.changes(before, after).items():
        params = daily_params(row["analytics_generation"], key, counts)
        await tx.execute(store.ADD_DAILY, params)


def daily_params(generation: int, key: Key, counts: tuple[int, ...]) -> dict[str, Any]:
    day, channel, account_id = key
    return {
        "generation": generation,
        "day": day.isoformat(),
        "channel": channel,
        "account_id": account_id,
        **dict(zip(domain.COUNTS, counts, strict=True)),
    }
