"""The ERP caller: a background loop that claims pending sales order requests and calls the
ERP for many of them at once, outside any transaction, then stores each outcome and answers
its command (`requests.finish`).

It wakes as soon as a request is recorded (the handler's commit wakes the database's commit
listeners), when a call ends, and every `interval` seconds besides. A request whose claim ran
out (its process crashed mid-call) is claimed again: the order's id, the call's idempotency
key, makes calling it twice safe.
"""

import asyncio
from datetime import timedelta

import structlog

from orderly.contexts import Worker
from orderly.erp import requests, store
from orderly.erp.messages import CreateSalesOrder
from orderly.erp.policy import ErpPolicy
from orderly.erp.port import Erp, ErpFailure
from orderly.kernel import faults
from orderly.kernel.aio import wait_or_timeout
from orderly.kernel.clock import utcnow
from orderly.messaging.envelope import decode_envelope
from orderly.storage import Database, Row

log = structlog.get_logger(__name__)


def sales_order_caller(erp: Erp, policy: ErpPolicy) -> Worker:
    """The loop that calls `erp` for one database's pending requests."""

    async def call_erp(db: Database, interval: float) -> None:
        wakeup = asyncio.Event()
        db.on_commit(wakeup.set)
        calls: set[asyncio.Task[None]] = set()

        def ended(task: asyncio.Task[None]) -> None:
            calls.discard(task)
            wakeup.set()

        try:
            while True:
                wakeup.clear()
                for row in await _claim(db, policy, policy.concurrency - len(calls)):
                    task = asyncio.create_task(_call(db, erp, row), name="erp-call")
                    calls.add(task)
                    task.add_done_callback(ended)
                await wait_or_timeout(wakeup, interval)
        finally:
            for task in calls:
                task.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            await erp.close()

    return call_erp


async def _claim(db: Database, policy: ErpPolicy, free: int) -> list[Row]:
    if free <= 0:
        return []
    now = utcnow()
    until = now + timedelta(seconds=policy.lease)
    try:
        return await db.transaction(lambda tx: store.claim(tx, free, now, until))
    except Exception as error:
        log.warning("claiming sales order requests failed", error=type(error).__name__)
        return []


async def _call(db: Database, erp: Erp, row: Row) -> None:
    """Call the ERP for one claimed request, then store the outcome and answer. An outcome
    that cannot be stored is left for the claim to run out and the call to be made again."""
    order_id = str(row["order_id"])
    command = decode_envelope(row["command"]).read(CreateSalesOrder)
    number: str | None = None
    reason = detail = ""
    try:
        number = await erp.create_sales_order(command, order_id)
    except ErpFailure as failure:
        reason, detail = failure.reason, str(failure)
    except Exception as error:
        log.error("ERP call failed unexpectedly", order_id=order_id, error=type(error).__name__)
        return
    log.info("ERP called", order_id=order_id, sales_order=number, reason=reason or None)
    if faults.POINT:  # crash tests: the ERP made the sales order, nothing here knows it yet
        faults.crash_at("erp.called")
    try:
        await db.transaction(lambda tx: requests.finish(tx, order_id, number, reason, detail))
    except Exception as error:
        log.warning(
            "storing the ERP's answer failed", order_id=order_id, error=type(error).__name__
        )
