"""The history's retention. An order's events go once the newest of them has passed its time
(seed 004 keeps events 30 days), unless a legal hold keeps the order; what they folded to is
kept in their place as the order's baseline, so that a rebuild still gives what the live
projections hold. An order removed from ordering leaves the order view; its baseline keeps only
what the day's figures need."""

from collections.abc import Collection
from datetime import datetime

from orderly.history import store
from orderly.history.projections import Replay
from orderly.storage import Database, Tx

SLICE = 500  # orders per transaction


async def expired_events(db: Database, before: datetime, held_orders: Collection[str]) -> int:
    """How many events belong to orders quiet since before `before` and not held."""
    params = {"before": before, "held": sorted(held_orders)}
    row = await db.read(lambda tx: tx.fetch_one(store.QUIET_EVENTS, params))
    return int(row["n"]) if row else 0


async def prune_events(db: Database, before: datetime, held_orders: Collection[str]) -> int:
    """Fold those events into their orders' baselines and remove them, a slice of orders per
    transaction; how many events went."""
    held = sorted(held_orders)
    removed = 0
    while True:

        async def work(tx: Tx) -> tuple[int, int]:
            quiet = await tx.fetch_all(
                store.QUIET_ORDERS, {"held": held, "before": before, "limit": SLICE}
            )
            ids = sorted(row["order_id"] for row in quiet)
            if not ids:
                return 0, 0
            return len(ids), await _fold_away(tx, ids)

        orders, went = await db.transaction(work)
        removed += went
        if orders < SLICE:
            return removed


async def _fold_away(tx: Tx, ids: list[str]) -> int:
    replay = Replay()
    replay.begin(await tx.fetch_all(store.BASELINES_OF, {"ids": ids}))
    events = await tx.fetch_all(store.EVENTS_OF_ORDERS, {"ids": ids})
    for event in events:
        replay.fold_row(event)
    if replay.facts:
        await tx.execute_many(store.PUT_BASELINE, [f.row() for f in replay.facts.values()])
    upto = max((int(event["seq"]) for event in events), default=0)
    return await tx.execute(store.PRUNE_EVENTS_OF, {"ids": ids, "upto": upto})


async def forget_orders(db: Database, ids: Collection[str]) -> int:
    """Orders removed from ordering: their events folded into their baselines and removed,
    the baselines stripped to the figures' facts (the day's figures keep them), and the orders
    out of the order view; how many view rows went."""
    if not ids:
        return 0
    params = {"ids": sorted(ids)}

    async def work(tx: Tx) -> int:
        await _fold_away(tx, params["ids"])
        await tx.execute(store.FORGET_BASELINES, params)
        return await tx.execute(store.FORGET_VIEW, params)

    return await db.transaction(work)
