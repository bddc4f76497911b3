"""The background loops that give back what ran out: cart holds and order holds."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from orderly.inventory import holds, provisional
from orderly.storage import Database

log = structlog.get_logger(__name__)


async def cart_hold_sweeper(db: Database, interval: float) -> None:
    """Mark cart holds past their time expired, every `interval` seconds."""
    failed = "sweep of expired soft reservations failed"
    await _every(interval, db, holds.sweep_expired, holds.SWEEP_BATCH, failed)


async def order_hold_sweeper(db: Database, interval: float) -> None:
    """Give back order holds that ran out, every `interval` seconds."""
    failed = "sweep of expired order holds failed"
    await _every(interval, db, provisional.sweep_expired, provisional.SWEEP_BATCH, failed)


async def _every(
    interval: float,
    db: Database,
    sweep: Callable[[Database], Awaitable[int]],
    batch: int,
    failed: str,
) -> None:
    """Run `sweep` (a full batch: again at once) for as long as the process runs; a round
    that fails is logged as `failed`."""
    while True:
        try:
            while await sweep(db) == batch:
                pass
        except Exception as error:  # the next round tries again; a sweep is bookkeeping only
            log.warning(failed, error=type(error).__name__)
        await asyncio.sleep(interval)
