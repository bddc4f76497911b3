"""The checkout saga's compliance step: check an order (`compliance.check`) and record the
decision, or void a run's decisions (`compliance.void`, its compensation). A repeated
command is answered as the first was, and records nothing new."""

from dataclasses import asdict
from datetime import date
from typing import Any

from orderly.compliance import copies, domain, monitoring, store
from orderly.compliance.messages import (
    SOURCE,
    CheckCompliance,
    ComplianceHeld,
    CompliancePassed,
    ComplianceRejected,
    ComplianceVoided,
    VoidCompliance,
)
from orderly.compliance.som import SomHit, som_hit
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, Message, emit
from orderly.messaging.envelope import answering
from orderly.storage import Row, Tx

SYSTEM = "system"


def _order(check: CheckCompliance) -> domain.Order:
    csos = check.csos
    return domain.Order(
        order_id=check.order_id,
        order_date=check.order_date,
        ship_to=check.ship_to,
        lines=[domain.Line(item.product_id, item.quantity) for item in check.items],
        csos=domain.Csos(csos.order_number, csos.signature) if csos else None,
    )


async def check_compliance(tx: Tx, command: Envelope) -> None:
    check = command.read(CheckCompliance)
    key = {"order_id": check.order_id, "run": check.run}
    if not await tx.execute(store.CLAIM_CHECK, key):
        await _answer_again(tx, command, check)
        return
    order = _order(check)
    account = await copies.load_account(tx, check.account_id)
    products = await copies.load_products(tx, (line.product_id for line in order.lines))
    inputs = _inputs(check, account, products)
    refusal = domain.eligibility(account, order, products)
    if refusal is not None:
        decision = await _decide(
            tx, check, "rejected", inputs, refusal.rule, refusal.reason, refusal.detail
        )
        await _emit(tx, command, _rejected(check, decision))
        return
    assert account is not None
    units = domain.dosage_units(order.lines, products)
    hit = await _som(tx, account.account_id, check.order_date, units)
    if hit is not None:
        inputs["som"] = dict(hit.figures)
        await _hold(tx, command, check, inputs, hit)
        return
    decision = await _decide(tx, check, "passed", inputs, None, None, None)
    await monitoring.record_orders(
        tx, check.order_id, check.run, account.account_id, check.order_date, units
    )
    await _emit(
        tx,
        command,
        CompliancePassed(order_id=check.order_id, run=check.run, decision_id=decision["id"]),
    )


async def _som(tx: Tx, account_id: str, day: date, units: dict[str, int]) -> SomHit | None:
    for family, n in sorted(units.items()):
        settings = await monitoring.settings_for(tx, account_id, family)
        history = await monitoring.history_for(tx, account_id, family, day)
        hit = som_hit(settings, history, day, n, family)
        if hit is not None:
            return hit
    return None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _inputs(
    check: CheckCompliance, account: domain.Account | None, products: dict[str, domain.Product]
) -> dict[str, Any]:
    """What the decision was made on, for the audit record (no certificate, no signature)."""
    return {
        "orderDate": check.order_date.isoformat(),
        "shipTo": dict(check.ship_to),
        "items": [{"productId": i.product_id, "quantity": i.quantity} for i in check.items],
        "csosOrderNumber": check.csos.order_number if check.csos else None,
        "account": None
        if account is None
        else {
            "deaNumber": account.dea_number,
            "deaSchedules": sorted(account.schedules),
            "deaExpiresOn": _iso(account.dea_expires_on),
            "deaActive": account.dea_active,
            "licenceState": account.licence_state,
            "licenceExpiresOn": _iso(account.licence_expires_on),
            "canOrderScheduleII": account.can_order_schedule_ii,
        },
        "products": {
            p.product_id: {k: v for k, v in asdict(p).items() if k != "product_id"}
            for p in products.values()
        },
    }


async def _decide(
    tx: Tx,
    check: CheckCompliance,
    decision: str,
    inputs: dict[str, Any],
    rule: str | None,
    reason: str | None,
    detail: str | None,
) -> dict[str, Any]:
    row = {
        "id": new_id(),
        "order_id": check.order_id,
        "run": check.run,
        "account_id": check.account_id,
        "decision": decision,
        "rule": rule,
        "reason": reason,
        "detail": detail,
        "inputs": inputs,
        "actor": SYSTEM,
        "at": utcnow(),
    }
    await tx.execute(store.INSERT_DECISION, row)
    await tx.execute(
        store.ANSWER_CHECK, {"order_id": check.order_id, "run": check.run, "decision_id": row["id"]}
    )
    return row


async def _hold(
    tx: Tx, command: Envelope, check: CheckCompliance, inputs: dict[str, Any], hit: SomHit
) -> None:
    decision = await _decide(tx, check, "held", inputs, "som", hit.reason, hit.detail)
    hold_id = new_id()
    await tx.execute(
        store.INSERT_HOLD,
        {
            "id": hold_id,
            "order_id": check.order_id,
            "run": check.run,
            "account_id": check.account_id,
            "decision_id": decision["id"],
            "rule": hit.reason,
            "detail": hit.detail,
            "som": dict(hit.figures),
            "command_id": command.id,
            "saga_id": command.saga_id,
            "correlation_id": command.correlation_id or command.id,
            "traceparent": command.traceparent,
            "at": decision["at"],
        },
    )
    held = ComplianceHeld(
        order_id=check.order_id,
        run=check.run,
        decision_id=decision["id"],
        hold_id=hold_id,
        rule=hit.reason,
        detail=hit.detail,
    )
    await _emit(tx, command, held)


def _rejected(check: CheckCompliance, decision: Row) -> ComplianceRejected:
    return ComplianceRejected(
        order_id=check.order_id,
        run=check.run,
        decision_id=decision["id"],
        rule=decision["rule"] or "",
        reason=decision["reason"] or "",
        detail=decision["detail"] or "",
        reported=decision["decision"] == "reported",
    )


async def _answer_again(tx: Tx, command: Envelope, check: CheckCompliance) -> None:
    """A repeated check (a timed-out saga sends it again): the answer the run has now."""
    found = await tx.fetch_one(store.CHECK, {"order_id": check.order_id, "run": check.run})
    decision_id = found["decision_id"] if found else None
    decision = await tx.fetch_one(store.DECISION, {"id": decision_id}) if decision_id else None
    if decision is None:
        return
    answer: Message
    if decision["decision"] in ("passed", "released"):
        answer = CompliancePassed(
            order_id=check.order_id, run=check.run, decision_id=decision["id"]
        )
    elif decision["decision"] == "held":
        hold = await tx.fetch_one(store.HOLD_OF_DECISION, {"decision_id": decision["id"]})
        answer = ComplianceHeld(
            order_id=check.order_id,
            run=check.run,
            decision_id=decision["id"],
            hold_id=hold["id"] if hold else "",
            rule=decision["reason"] or "",
            detail=decision["detail"] or "",
        )
    else:
        answer = _rejected(check, decision)
    await _emit(tx, command, answer)


async def _emit(tx: Tx, command: Envelope, answer: Message) -> None:
    order_id = command.data.get("orderId", "")
    await emit(tx, answering(command, answer, source=SOURCE, aggregate_id=order_id))


async def void_compliance(tx: Tx, command: Envelope) -> None:
    """The run's decisions no longer stand (kept, marked voided), its open hold is closed,
    and its orders leave the SOM history; answered even when there was nothing to void."""
    void = command.read(VoidCompliance)
    key = {"order_id": void.order_id, "run": void.run}
    at = utcnow()
    await tx.execute(store.VOID_DECISIONS, {**key, "at": at, "reason": void.reason})
    await tx.execute(store.VOID_HOLDS, {**key, "at": at, "reason": void.reason})
    await tx.execute(store.DELETE_SOM_ORDERS, key)
    await _emit(tx, command, ComplianceVoided(order_id=void.order_id, run=void.run))
