"""The ERP caller: a background loop that claims pending sales order requests and calls the
ERP for many of them at once, outside any transaction, then stores each outcome and answers
its command (`requests.finish`).

It wakes as soon as a request is recorded (the handler's commit wakes the database's commit
listeners), when a call ends, and every `interval` seconds besides. A request whose claim ran
out (its process crashed mid-call) is claimed again: the order's id, the call's idempotency
key, makes calling it twice safe.
"""

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import structlog

from orderly.contexts import Worker
from orderly.erp import requests, store
from orderly.erp.messages import CreateSalesOrder
from orderly.erp.policy import ErpPolicy
from orderly.erp.port import Erp, ErpFailure, ErpRejected
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

        def started(call: Coroutine[Any, Any, None], name: str) -> None:
            task = asyncio.create_task(call, name=name)
            calls.add(task)
            task.add_done_callback(ended)

        try:
            while True:
                wakeup.clear()
                for row in await _claim(db, policy, policy.concurrency - len(calls)):
                    started(_call(db, erp, row), "erp-call")
                for row in await _claim_cancellations(db, policy, policy.concurrency - len(calls)):
                    started(_cancel(db, erp, row), "erp-cancel")
                for row in await _claim_credits(db, policy, policy.concurrency - len(calls)):
                    started(_credit(db, erp, row), "erp-credit")
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


async def _claim_cancellations(db: Database, policy: ErpPolicy, free: int) -> list[Row]:
    if free <= 0:
        return []
    now = utcnow()
    params = {"limit": free, "now": now, "until": now + timedelta(seconds=policy.lease)}
    try:
        return await db.transaction(lambda tx: tx.fetch_all(store.CLAIM_CANCELLATIONS, params))
    except Exception as error:
        log.warning("claiming sales order cancellations failed", error=type(error).__name__)
        return []


async def _cancel(db: Database, erp: Erp, row: Row) -> None:
    """Cancel one claimed sales order; an ERP that times out or fails is asked again once the
    claim runs out, one that refuses is told once and left (an operator's to settle)."""
    order_id, number = str(row["order_id"]), str(row["number"])
    reason: str | None = None
    try:
        await erp.cancel_sales_order(number)
    except ErpRejected as refusal:
        reason = str(refusal)[:400]
    except ErpFailure as failure:
        log.warning("ERP cancel failed; asked again later", order_id=order_id, error=str(failure))
        return
    except Exception as error:
        log.error("ERP cancel failed unexpectedly", order_id=order_id, error=type(error).__name__)
        return
    log.info("ERP sales order cancelled", order_id=order_id, sales_order=number, refused=reason)
    try:
        await db.transaction(lambda tx: requests.finish_cancellation(tx, order_id, reason))
    except Exception as error:
        log.warning(
            "storing the ERP's cancel failed", order_id=order_id, error=type(error).__name__
        )


async def _claim_credits(db: Database, policy: ErpPolicy, free: int) -> list[Row]:
    if free <= 0:
        return []
    now = utcnow()
    params = {"limit": free, "now": now, "until": now + timedelta(seconds=policy.lease)}
    try:
        return await db.transaction(lambda tx: tx.fetch_all(store.CLAIM_CREDITS, params))
    except Exception as error:
        log.warning("claiming credit memo requests failed", error=type(error).__name__)
        return []


async def _credit(db: Database, erp: Erp, row: Row) -> None:
    """Ask for one claimed credit memo, its id the call's idempotency key; an ERP that
    times out or fails is asked again once the claim runs out, one that refuses is told once
    and left (an operator's to settle)."""
    credit_id, number = str(row["id"]), str(row["number"])
    reason: str | None = None
    try:
        await erp.credit_sales_order(
            number, row["product_id"], int(row["quantity"]), str(row["amount"]), credit_id
        )
    except ErpRejected as refusal:
        reason = str(refusal)[:400]
    except ErpFailure as failure:
        log.warning("ERP credit failed; asked again later", credit=credit_id, error=str(failure))
        return
    except Exception as error:
        log.error("ERP credit failed unexpectedly", credit=credit_id, error=type(error).__name__)
        return
    log.info("ERP credit memo asked for", credit=credit_id, sales_order=number, refused=reason)
    try:
        await db.transaction(lambda tx: requests.finish_credit(tx, credit_id, reason))
    except Exception as error:
        log.warning("storing the ERP's credit failed", credit=credit_id, error=type(error).__name__)


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
    if faults.ARMED:  # crash tests: the ERP made the sales order, nothing here knows it yet
        faults.crash_at("erp.called")
    try:
        await db.transaction(lambda tx: requests.finish(tx, order_id, number, reason, detail))
    except Exception as error:
        log.warning(
            "storing the ERP's answer failed", order_id=order_id, error=type(error).__name__
        )
