"""The `Wms` port: an external warehouse (WMS/TMS) that picks, packs and ships for Orderly.

With `ORDERLY_WMS_URL` set, an order's pick step sends the order to that WMS instead of
making pick tasks on Orderly's own floor (`POST {url}/orders`, the order's id as
`Idempotency-Key`: sent twice, it is one order there), and undoing it cancels it there
(`DELETE {url}/orders/{id}`, a 404 counting as done). Both are recorded in the transaction
that decided them (`wms_requests`) and called by a background loop outside any transaction,
tried again until they go through. The WMS tells what it did, order by order, at
`POST /api/v1/wms/events` (`wms_events`): picked, packed, shipped, delivered.
"""

import asyncio
from datetime import timedelta
from typing import Any, Protocol

import httpx
import structlog

from orderly.contexts import Worker
from orderly.fulfillment import store
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.kernel.aio import wait_or_timeout
from orderly.kernel.clock import utcnow
from orderly.storage import Database, Row, Tx

log = structlog.get_logger(__name__)

SEND, CANCEL = "send", "cancel"
LEASE = 30.0  # seconds a claimed request is the caller's before another may take it
BATCH = 50


class WmsFailure(Exception):
    """The WMS did not take the call; it is tried again."""


class Wms(Protocol):
    async def send(self, order: dict[str, Any]) -> None: ...

    async def cancel(self, order_id: str) -> None: ...

    async def close(self) -> None: ...


class HttpWms:
    def __init__(self, url: str, timeout: float) -> None:
        self._client = httpx.AsyncClient(base_url=url, timeout=timeout)

    async def send(self, order: dict[str, Any]) -> None:
        headers = {"Idempotency-Key": order["order_id"]}
        await self._call("POST", "/orders", json=order, headers=headers)

    async def cancel(self, order_id: str) -> None:
        await self._call("DELETE", f"/orders/{order_id}", ok=(200, 204, 404))

    async def _call(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201), **kw: Any
    ) -> None:
        try:
            answer = await self._client.request(method, path, **kw)
        except httpx.HTTPError as error:
            raise WmsFailure(f"the WMS is unreachable ({type(error).__name__})") from None
        if answer.status_code not in ok:
            raise WmsFailure(f"the WMS answered {answer.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


async def want(tx: Tx, order_id: str, op: str, payload: dict[str, Any]) -> None:
    """Record, in the caller's transaction, what the WMS is to be told of the order (the
    last word wins: a cancel replaces a send not yet made)."""
    params = {"order_id": order_id, "op": op, "payload": payload, "at": utcnow()}
    await tx.execute(store.WANT_WMS, params)


def wms_caller(rules: FulfillmentPolicy) -> Worker:
    """The loop that tells the external WMS what its requests say, outside any transaction."""

    async def call_wms(db: Database, interval: float) -> None:
        wms = HttpWms(rules.wms_url, rules.wms_timeout)
        wakeup = asyncio.Event()
        db.on_commit(wakeup.set)
        try:
            while True:
                wakeup.clear()
                rows = await _claim(db)
                await asyncio.gather(*(_call(db, wms, row) for row in rows))
                if len(rows) < BATCH:
                    await wait_or_timeout(wakeup, interval)
        finally:
            await wms.close()

    return call_wms


async def _claim(db: Database) -> list[Row]:
    now = utcnow()
    until = now + timedelta(seconds=LEASE)

    async def work(tx: Tx) -> list[Row]:
        await tx.execute(store.CLAIM_WMS, {"now": now, "until": until, "limit": BATCH})
        return await tx.fetch_all(store.CLAIMED_WMS, {"until": until})

    try:
        return await db.transaction(work)
    except Exception as error:
        log.warning("claiming WMS requests failed", error=type(error).__name__)
        return []


async def _call(db: Database, wms: Wms, row: Row) -> None:
    order_id, op = row["order_id"], row["op"]
    try:
        if op == SEND:
            await wms.send(row["payload"])
        else:
            await wms.cancel(order_id)
    except WmsFailure as error:
        # tried again after a pause that grows with the attempts, up to a minute
        pause = min(60.0, 0.5 * 2 ** min(int(row["attempts"]), 7))
        log.warning("WMS call failed", order_id=order_id, op=op, error=str(error))
        params = {"order_id": order_id, "op": op, "until": utcnow() + timedelta(seconds=pause)}
        await db.transaction(lambda tx: tx.execute(store.RETRY_WMS, params))
        return
    params = {"order_id": order_id, "op": op, "at": utcnow()}
    await db.transaction(lambda tx: tx.execute(store.DONE_WMS, params))
