"""Approvals (B2B): an order above its account's threshold waits, `awaiting_approval`, until
a member of the account with the `approver` role approves or rejects it. The buyer who
placed an order never approves it. The decision is the signal the order's saga waits for,
given to it in the same transaction, and published (`order.approved`, `order.rejected`)."""

from typing import Any

from orderly.kernel.errors import Conflict, OrderlyError, Unavailable
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.ordering import queries, store
from orderly.ordering.buyers import AccountStanding
from orderly.ordering.domain import Order, OrderStatus
from orderly.ordering.messages import SOURCE, OrderApproved, OrderRejected
from orderly.ordering.policy import OrderingPolicy
from orderly.ordering.queries import OrderNotFound
from orderly.ordering.sagas import definitions
from orderly.sagas import engine
from orderly.storage import Database, Row, Tx

APPROVER = "approver"


class NotAnApprover(OrderlyError):
    status = 403
    code = "not_an_approver"
    title = "Only the account's approvers decide on its orders"


class OwnOrder(OrderlyError):
    status = 403
    code = "own_order_approval"
    title = "The buyer who placed an order cannot approve it"


class NotAwaitingApproval(Conflict):
    code = "order_not_awaiting_approval"
    title = "The order is not waiting for approval"


async def _check_approver(standing: AccountStanding | None, caller: Principal) -> None:
    """The caller's roles as identity has them now (a token's claims are hints)."""
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    now = await standing.of(caller)
    if caller.account is None or now.disabled or now.account != caller.account:
        raise NotAnApprover("only a member of the order's account decides on it")
    if APPROVER not in now.roles:
        raise NotAnApprover(f"{caller.user_id} is not an approver of account {caller.account}")


async def decide(
    db: Database,
    standing: AccountStanding | None,
    policy: OrderingPolicy,
    caller: Principal,
    order_id: str,
    *,
    approve: bool,
    note: str,
) -> dict[str, Any]:
    """Approve or reject an order awaiting approval; the order as it then stands. Another
    account's order does not exist for the caller, whatever its roles."""
    found = await db.read(lambda tx: _of_account(tx, caller, order_id))
    if found["owner_id"] == caller.user_id:
        raise OwnOrder(f"{caller.user_id} placed order {order_id}: another approver decides")
    await _check_approver(standing, caller)
    known = definitions(policy)

    async def work(tx: Tx) -> dict[str, Any]:
        order = Order.of(await _of_account(tx, caller, order_id))
        if order.owner_id == caller.user_id:
            raise OwnOrder(f"{caller.user_id} placed order {order_id}: another approver decides")
        if order.status is not OrderStatus.AWAITING_APPROVAL:
            raise NotAwaitingApproval(
                f"order {order_id} is not waiting for approval", order_status=order.word
            )
        assert order.account_id is not None
        decision = (
            OrderApproved(
                order_id=order.id, account_id=order.account_id, approver_id=caller.user_id
            )
            if approve
            else OrderRejected(
                order_id=order.id,
                account_id=order.account_id,
                approver_id=caller.user_id,
                note=note,
            )
        )
        signal = new_message(decision, source=SOURCE, aggregate_id=order.id, saga_id=order.id)
        await emit(tx, signal)
        await engine.advance(tx, known, signal)
        fresh = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
        assert fresh is not None
        return await queries.view(tx, fresh)

    return await db.transaction(work)


async def _of_account(tx: Tx, caller: Principal, order_id: str) -> Row:
    order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
    if order is None or caller.account is None or order["account_id"] != caller.account:
        raise OrderNotFound(f"order {order_id} does not exist")
    return order


async def awaiting(db: Database, caller: Principal, limit: int) -> list[dict[str, Any]]:
    """The orders of the caller's account waiting for an approver other than their buyer."""
    if caller.account is None:
        return []
    params = {"account_id": caller.account, "status": OrderStatus.AWAITING_APPROVAL.value}
    rows = await db.read(
        lambda tx: tx.fetch_all(store.AWAITING_APPROVAL, {**params, "limit": limit})
    )
    return [
        {**Order.of(row).summary(), "placed_by": row["owner_id"], "created_at": row["created_at"]}
        for row in rows
        if row["owner_id"] != caller.user_id
    ]
