"""Idempotency-Keys: a repeated checkout answers what the first one did, for a day, and
never makes a second order. A key belongs to its caller's scope (`PlaceOrder.scoped_key`)
and to one request's body (its fingerprint)."""

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog

from orderly.kernel.aio import every
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, Unprocessable
from orderly.ordering import store
from orderly.ordering.domain import UNDER_WAY, Order
from orderly.storage import Database, Tx

log = structlog.get_logger(__name__)

# An Idempotency-Key answers the same for at least this long.
IDEMPOTENCY_TTL = timedelta(hours=24)


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency key used for a different request"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this idempotency key is still running"


class Replayed(Exception):
    """A concurrent request with the same key made the order: its answer."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response


async def earlier_response(
    tx: Tx, key: str | None, fingerprint: str, wait: float
) -> dict[str, Any] | None:
    """What the request that claimed `key` answered; None if no live request did. A request
    still running (up to its checkout's `wait`, and some) is `IdempotencyKeyInUse`."""
    row = await tx.fetch_one(store.GET_IDEMPOTENCY_KEY, {"key": key})
    if row is None or _stale(row["created_at"]):
        return None
    if row["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different order")
    if row["response"] is None:
        found = await tx.fetch_one(store.GET_ORDER, {"id": row["order_id"]})
        order = None if found is None else Order.of(found)
        if order is not None and order.status not in UNDER_WAY:
            # its checkout came out: what the first request answers, or would have had it
            # lived (a process stopped under it), without waiting for it to say so
            return order.summary()
        running_since = utcnow() - _aware(row["created_at"])
        if order is None or running_since < timedelta(seconds=wait + 30):
            raise IdempotencyKeyInUse(
                "the first request with this Idempotency-Key is still running"
            )
        # its request ended without saying (the process stopped): answer with the order
        return order.summary()
    response: dict[str, Any] = row["response"]
    return response


async def claim(
    tx: Tx,
    key: str,
    fingerprint: str,
    response: dict[str, Any] | None,
    order_id: str,
    now: datetime,
    wait: float,
) -> None:
    """In the order's transaction: `key` is the order's, answering `response` (None: not
    known yet). A concurrent request with the same key that won raises `Replayed`."""
    params = {"key": key, "fingerprint": fingerprint, "response": response, "order_id": order_id}
    if await tx.execute(store.CLAIM_IDEMPOTENCY_KEY, {**params, "at": now}):
        return
    row = await tx.fetch_one(store.GET_IDEMPOTENCY_KEY, {"key": key})
    assert row is not None
    if _stale(row["created_at"]):  # an expired key starts afresh
        await tx.execute(store.REPLACE_IDEMPOTENCY_KEY, {**params, "at": now})
        return
    # a concurrent request with the same key won: answer as it did; no second order
    earlier = await earlier_response(tx, key, fingerprint, wait)
    assert earlier is not None
    raise Replayed(earlier)


async def answer(db: Database, key: str, response: dict[str, Any]) -> None:
    """The answer of a request whose outcome was known only after its order was made."""
    await db.transaction(
        lambda tx: tx.execute(store.SET_IDEMPOTENT_RESPONSE, {"key": key, "response": response})
    )


async def forget_idempotency_keys(db: Database, older_than: timedelta) -> int:
    """Delete the keys older than `older_than` (longer than `IDEMPOTENCY_TTL`)."""
    before = utcnow() - max(older_than, IDEMPOTENCY_TTL)
    return await db.transaction(
        lambda tx: tx.execute(store.PRUNE_IDEMPOTENCY_KEYS, {"before": before})
    )


async def key_keeper(db: Database, interval: float) -> None:
    """Every hour, forget Idempotency-Keys two days old (they answer for one day)."""
    forget = partial(forget_idempotency_keys, db, 2 * IDEMPOTENCY_TTL)
    await every(3600, forget, "forgetting idempotency keys failed")


def _aware(at: datetime | str) -> datetime:
    return datetime.fromisoformat(at) if isinstance(at, str) else at


def _stale(created_at: datetime | str) -> bool:
    return _aware(created_at) < utcnow() - IDEMPOTENCY_TTL
