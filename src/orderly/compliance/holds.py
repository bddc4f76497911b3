"""An analyst's decision on a held order: release it with a diligence note (the saga goes on,
`compliance.passed`) or report it as suspicious (`compliance.rejected`, reported: the order
is cancelled). Both answer the saga's original command; and the audit trail's reads."""

from datetime import date
from typing import Any

from orderly.compliance import monitoring, store
from orderly.compliance.messages import SOURCE, CompliancePassed, ComplianceRejected
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, Message, emit, new_message
from orderly.storage import Database, Row, Tx

REPORTED_DETAIL = (
    "Your order was reviewed and could not be filled; it has been cancelled. Contact us for"
    " details."
)


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "No such hold"


class HoldAlreadyDecided(Conflict):
    code = "hold_already_decided"
    title = "The hold was decided already"


def hold_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "orderId": row["order_id"],
        "run": int(row["run"]),
        "accountId": row["account_id"],
        "decisionId": row["decision_id"],
        "rule": row["rule"],
        "detail": row["detail"],
        "status": row["status"],
        "som": row["som"],
        "createdAt": row["created_at"],
        "decidedAt": row["decided_at"],
        "decidedBy": row["decided_by"],
        "note": row["note"],
    }


def decision_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "orderId": row["order_id"],
        "run": int(row["run"]),
        "accountId": row["account_id"],
        "decision": row["decision"],
        "rule": row["rule"],
        "reason": row["reason"],
        "detail": row["detail"],
        "inputs": row["inputs"],
        "actor": row["actor"],
        "at": row["at"],
        "voidedAt": row["voided_at"],
        "voidReason": row["void_reason"],
    }


async def list_holds(db: Database, status: str | None) -> list[dict[str, Any]]:
    async def work(tx: Tx) -> list[Row]:
        if status:
            return await tx.fetch_all(store.HOLDS_WITH_STATUS, {"status": status})
        return await tx.fetch_all(store.HOLDS)

    return [hold_view(row) for row in await db.read(work)]


async def get_hold(db: Database, hold_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.HOLD, {"id": hold_id}))
    if row is None:
        raise HoldNotFound(f"no hold {hold_id}")
    return hold_view(row)


async def order_decisions(db: Database, order_id: str) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.ORDER_DECISIONS, {"order_id": order_id}))
    return [decision_view(row) for row in rows]


async def release_hold(db: Database, hold_id: str, actor: str, note: str) -> dict[str, Any]:
    """Diligence dispelled the suspicion: the order goes on, and joins the SOM history."""
    return await db.transaction(lambda tx: _decide(tx, hold_id, actor, note, "released"))


async def report_hold(db: Database, hold_id: str, actor: str, note: str) -> dict[str, Any]:
    """The order is reported as suspicious (SORS) and cancelled, never shipped."""
    return await db.transaction(lambda tx: _decide(tx, hold_id, actor, note, "reported"))


async def _decide(tx: Tx, hold_id: str, actor: str, note: str, status: str) -> dict[str, Any]:
    hold = await tx.fetch_one(store.HOLD, {"id": hold_id})
    if hold is None:
        raise HoldNotFound(f"no hold {hold_id}")
    at = utcnow()
    closed = await tx.execute(
        store.DECIDE_HOLD, {"id": hold_id, "status": status, "at": at, "actor": actor, "note": note}
    )
    if not closed:
        raise HoldAlreadyDecided(
            f"hold {hold_id} is {hold['status']} already", hold_status=hold["status"]
        )
    held = await tx.fetch_one(store.DECISION, {"id": hold["decision_id"]})
    assert held is not None
    reported = status == "reported"
    decision = {
        "id": new_id(),
        "order_id": hold["order_id"],
        "run": int(hold["run"]),
        "account_id": hold["account_id"],
        "decision": status,
        "rule": "som",
        "reason": "suspicious_order_reported" if reported else hold["rule"],
        "detail": REPORTED_DETAIL if reported else None,
        "inputs": {**held["inputs"], "note": note, "holdId": hold_id},
        "actor": actor,
        "at": at,
    }
    await tx.execute(store.INSERT_DECISION, decision)
    key = {"order_id": hold["order_id"], "run": int(hold["run"])}
    await tx.execute(store.ANSWER_CHECK, {**key, "decision_id": decision["id"]})
    answer: Message
    if reported:
        answer = ComplianceRejected(
            **key,
            decision_id=decision["id"],
            rule="som",
            reason="suspicious_order_reported",
            detail=REPORTED_DETAIL,
            reported=True,
        )
    else:
        answer = CompliancePassed(**key, decision_id=decision["id"])
        await _record_released(tx, held)
    await emit(
        tx,
        new_message(
            answer,
            source=SOURCE,
            aggregate_id=hold["order_id"],
            cause=_command(hold),
            saga_id=hold["saga_id"],
        ),
    )
    row = await tx.fetch_one(store.HOLD, {"id": hold_id})
    assert row is not None
    return hold_view(row)


async def _record_released(tx: Tx, held: Row) -> None:
    inputs = held["inputs"]
    products = inputs.get("products", {})
    units: dict[str, int] = {}
    for item in inputs.get("items", []):
        product = products.get(item["productId"])
        if product and product.get("dea_schedule"):
            family = product["family"]
            units[family] = units.get(family, 0) + item["quantity"] * product["units_per_package"]
    day = date.fromisoformat(inputs["orderDate"])
    await monitoring.record_orders(
        tx, held["order_id"], int(held["run"]), held["account_id"], day, units
    )


def _command(hold: Row) -> Envelope:
    """The saga's command as the hold kept it: enough to answer it (cause and saga)."""
    return Envelope(
        id=hold["command_id"],
        type="compliance.check",
        source="",
        occurred_at=hold["created_at"],
        data={},
        correlation_id=hold["correlation_id"],
        traceparent=hold["traceparent"],
        saga_id=hold["saga_id"],
    )
