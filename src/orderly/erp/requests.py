"""Sales order requests: the checkout's `erp.sales_order.create`, recorded to be called, and
the ERP's outcome, stored and told once.

The ERP is never called inside a transaction (SQLite has one writer, and a call may take
seconds): the handler writes a pending request, and the caller (`calls.py`) calls the ERP
outside any transaction and comes back with the outcome. The order's id is the call's
idempotency key, so a request called again (after a crash, or on a replayed checkout) finds
the sales order the first call made.
"""

from datetime import datetime
from decimal import Decimal

from orderly.erp import store
from orderly.erp.messages import (
    SOURCE,
    CreateSalesOrder,
    SalesOrderCancelled,
    SalesOrderCreated,
    SalesOrderCredited,
    SalesOrderFailed,
)
from orderly.kernel.clock import utcnow
from orderly.messaging import Envelope, Message, answering, emit, new_message
from orderly.messaging.envelope import decode_envelope, encode_envelope
from orderly.ordering.messages import OrderCancelled, OrderCredited
from orderly.storage import Row, Tx


async def create_sales_order(tx: Tx, message: Envelope) -> None:
    """Record the request to be called; a repeated command hears the answer already given,
    and one still being called is left to its call. A newer run of a failed checkout asks
    the ERP again (with the same key)."""
    command = message.read(CreateSalesOrder)
    known = await store.request(tx, command.order_id)
    if known is None and await _cancelled(tx, command.order_id):
        # the order was cancelled before its saga got here: the ERP is never asked
        told = SalesOrderFailed(
            order_id=command.order_id,
            run=command.run,
            reason="order_cancelled",
            detail="the order was cancelled before its sales order was asked for",
        )
        await emit(tx, answering(message, told, source=SOURCE, aggregate_id=command.order_id))
        return
    params = {
        "order_id": command.order_id,
        "run": command.run,
        "command": encode_envelope(message).decode(),
        "at": utcnow(),
    }
    if known is None:
        await tx.execute(store.INSERT_REQUEST, params)
        store.ask_again_after_commit(tx)
        return
    newer = command.run > int(known["run"])
    if known["status"] == store.PENDING:
        if newer:  # the call under way answers the newest command
            await tx.execute(store.RENEW_REQUEST, params)
        return
    if known["status"] == store.FAILED and newer:
        await tx.execute(store.RENEW_REQUEST, params)
        store.ask_again_after_commit(tx)
        return
    await emit(tx, await _answer(tx, known, message, command.run))


async def finish(
    tx: Tx, order_id: str, number: str | None, reason: str = "", detail: str = ""
) -> bool:
    """Store the call's outcome (a sales order `number`, or why none) and answer the request's
    command; False when it was answered already."""
    at = utcnow()
    if number is not None:
        row = await tx.fetch_one(store.FINISH, _outcome(order_id, store.CREATED, None, None, at))
        if row is None:
            return False
        params = {"order_id": order_id, "number": number, "at": at}
        if not await tx.execute(store.INSERT_SALES_ORDER, params):
            # a sales order kept from an earlier run's call is the order's one
            made = await store.sales_order(tx, order_id)
            assert made is not None
            number = str(made["number"])
        # made for an order cancelled while it was being made: it is cancelled in turn
        to_cancel = {"order_id": order_id, "number": number, "at": at}
        if await tx.execute(store.NUMBER_TO_CANCEL, to_cancel):
            store.ask_again_after_commit(tx)
    else:
        row = await tx.fetch_one(store.FINISH, _outcome(order_id, store.FAILED, reason, detail, at))
        if row is None:
            return False
    command = decode_envelope(row["command"])
    await emit(tx, _told(command, order_id, int(row["run"]), number, reason, detail))
    return True


async def cancel_on_order_cancelled(tx: Tx, message: Envelope) -> None:
    """The order is cancelled: its sales order is cancelled in the ERP, now if it has one,
    or as soon as it is made; a sales order not yet asked for never will be."""
    order_id = message.read(OrderCancelled).order_id
    made = await store.sales_order(tx, order_id)
    cancellation = {
        "order_id": order_id,
        "status": store.WANTED if made is None else store.PENDING,
        "number": None if made is None else made["number"],
        "at": utcnow(),
    }
    if await tx.execute(store.INSERT_CANCELLATION, cancellation) and made is not None:
        store.ask_again_after_commit(tx)


async def finish_cancellation(tx: Tx, order_id: str, reason: str | None) -> None:
    """Store the cancel call's outcome (`reason`: why the ERP refused, if it did) and, when
    the sales order is cancelled, tell it."""
    status = store.CANCELLED if reason is None else store.FAILED
    params = {"order_id": order_id, "status": status, "reason": reason, "at": utcnow()}
    row = await tx.fetch_one(store.FINISH_CANCELLATION, params)
    if row is not None and reason is None:
        told = SalesOrderCancelled(order_id=order_id, sales_order_number=str(row["number"]))
        await emit(tx, new_message(told, source=SOURCE, aggregate_id=order_id))


async def credit_on_order_credited(tx: Tx, message: Envelope) -> None:
    """Units of the order will not ship: a credit memo is asked for on its sales order, once
    (an order without one, a shop order, has no invoice in the ERP to correct)."""
    credit = message.read(OrderCredited)
    made = await store.sales_order(tx, credit.order_id)
    if made is None:
        return
    params = {
        "id": credit.credit_id,
        "order_id": credit.order_id,
        "number": made["number"],
        "product_id": credit.product_id,
        "quantity": credit.quantity,
        "amount": str(credit.amount),
        "at": utcnow(),
    }
    if await tx.execute(store.INSERT_CREDIT, params):
        store.ask_again_after_commit(tx)


async def finish_credit(tx: Tx, credit_id: str, reason: str | None) -> None:
    """Store the credit memo call's outcome (`reason`: why the ERP refused, if it did) and,
    when the ERP took it, tell it."""
    status = store.CREDITED if reason is None else store.FAILED
    params = {"id": credit_id, "status": status, "reason": reason, "at": utcnow()}
    row = await tx.fetch_one(store.FINISH_CREDIT, params)
    if row is not None and reason is None:
        told = SalesOrderCredited(
            order_id=row["order_id"],
            sales_order_number=str(row["number"]),
            credit_id=credit_id,
            product_id=row["product_id"],
            quantity=int(row["quantity"]),
            amount=Decimal(row["amount"]),
        )
        await emit(tx, new_message(told, source=SOURCE, aggregate_id=row["order_id"]))


async def _cancelled(tx: Tx, order_id: str) -> bool:
    return await tx.fetch_one(store.GET_CANCELLATION, {"order_id": order_id}) is not None


def _outcome(
    order_id: str, status: str, reason: str | None, detail: str | None, at: datetime
) -> dict[str, object]:
    return {"order_id": order_id, "status": status, "reason": reason, "detail": detail, "at": at}


async def _answer(tx: Tx, request: Row, command: Envelope, run: int) -> Envelope:
    """The stored outcome of `request`, told again in answer to `command`."""
    order_id = str(request["order_id"])
    made = await store.sales_order(tx, order_id)
    number = str(made["number"]) if request["status"] == store.CREATED and made else None
    reason, detail = request["reason"] or "", request["detail"] or ""
    return _told(command, order_id, run, number, reason, detail)


def _told(
    command: Envelope, order_id: str, run: int, number: str | None, reason: str, detail: str
) -> Envelope:
    """`erp.sales_order.created` with the sales order `number`, or, without one,
    `erp.sales_order.failed` with the reason, answering `command` with its run."""
    body: Message
    if number is not None:
        body = SalesOrderCreated(order_id=order_id, run=run, sales_order_number=number)
    else:
        body = SalesOrderFailed(
            order_id=order_id, run=run, reason=reason or "erp_error", detail=detail
        )
    return answering(command, body, source=SOURCE, aggregate_id=order_id)
