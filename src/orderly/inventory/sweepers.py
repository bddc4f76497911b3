"""The background loops that give back what ran out: cart holds and order holds."""

from collections.abc import Awaitable, Callable

import structlog

from orderly.inventory import holds, provisional
from orderly.kernel.aio import drain, every
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
    """Run `sweep` (a full batch: again at once) every `interval` seconds."""
    await every(interval, lambda: drain(lambda: sweep(db), batch), failed)
