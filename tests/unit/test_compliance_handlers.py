"""Compliance's handlers through its consumers, on a SQLite database of its own: accounts and
products are copied, the saga's checks decided and recorded once, holds released or reported
by an analyst, and a run's decisions voided."""

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.compliance import copies, holds, monitoring
from orderly.compliance.context import CONTEXT
from orderly.compliance.domain import csos_payload
from orderly.compliance.holds import HoldAlreadyDecided
from orderly.compliance.messages import (
    CheckCompliance,
    ComplianceHeld,
    ComplianceLine,
    CompliancePassed,
    ComplianceRejected,
    ComplianceVoided,
    CsosSignature,
    VoidCompliance,
)
from orderly.compliance.som import SomSettings, previous_months
from orderly.identity.messages import AccountCreated, AccountUpdated, Registration
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, new_message
from orderly.storage import sql
from tests.bus import Bus, consumers_of
from tests.csos import purchaser
from tests.messages import told

TODAY = utcnow().date()
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "62701"}
DEA = "BP1234563"
SIGNER = purchaser()
DECISIONS = sql(
    "SELECT decision, rule, reason, actor, voided_at, void_reason FROM compliance_decisions"
    " WHERE order_id = :order_id ORDER BY at, id"
)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    async with consumers_of(CONTEXT, tmp_path) as consumers:
        yield consumers


def registration(**changes: Any) -> Registration:
    fields: dict[str, Any] = {
        "dea_number": DEA,
        "dea_schedules": ["2", "2N", "3", "3N", "4", "5"],
        "dea_expires_on": date(TODAY.year + 1, 1, 1),
        "dea_active": True,
        "registered_address": ADDRESS,
        "licence_state": "IL",
        "licence_expires_on": date(TODAY.year + 1, 1, 1),
    } | changes
    return Registration(**fields)


def account_created(account_id: str, **changes: Any) -> Envelope:
    body = AccountCreated(
        account_id=account_id,
        name="Pharmacy",
        segment="independent",
        id340b=None,
        can_order_schedule_ii=True,
        registration=registration(**changes),
    )
    return told(body, account_id)


def account_updated(account_id: str, certificate: str | None, **changes: Any) -> Envelope:
    body = AccountUpdated(
        account_id=account_id,
        can_order_schedule_ii=True,
        registration=registration(**changes),
        csos_certificate=certificate,
        approval_threshold=None,
    )
    return told(body, account_id)


def product_created(product_id: str, name: str, schedule: str | None = None) -> Envelope:
    body = ProductCreated(
        product_id=product_id,
        name=name,
        sku=product_id,
        price=None,
        ndc=None,
        ndc11=None,
        dea_schedule=schedule,
        initial_stock=0,
    )
    return told(body, product_id)


def check(
    order_id: str,
    account_id: str | None,
    items: list[tuple[str, int]],
    *,
    run: int = 1,
    csos: str | None = None,
    saga_id: str = "saga-1",
) -> Envelope:
    lines = [ComplianceLine(product_id=p, quantity=q) for p, q in items]
    signature = None
    if csos is not None:
        signature = CsosSignature(order_number=csos, signature=SIGNER.sign(csos, DEA, lines))
    body = CheckCompliance(
        order_id=order_id,
        run=run,
        user_id="u-1",
        account_id=account_id,
        order_date=TODAY,
        ship_to=ADDRESS,
        items=lines,
        csos=signature,
    )
    return new_message(body, source="test", aggregate_id=order_id, saga_id=saga_id)


def void(order_id: str, run: int = 1) -> Envelope:
    body = VoidCompliance(order_id=order_id, run=run, reason="inventory_insufficient")
    return new_message(body, source="test", aggregate_id=order_id, saga_id="saga-1")


async def decisions(bus: Bus, order_id: str) -> list[dict[str, Any]]:
    return await bus.db.read(lambda tx: tx.fetch_all(DECISIONS, {"order_id": order_id}))


async def known_account(bus: Bus, **changes: Any) -> str:
    account_id = new_id()
    await bus.deliver(account_created(account_id, **changes))
    await bus.deliver(account_updated(account_id, SIGNER.certificate_pem, **changes))
    return account_id


async def baseline(bus: Bus, account_id: str, family: str, units: list[int]) -> None:
    months = previous_months(TODAY)
    await monitoring.import_baseline(
        bus.db,
        account_id,
        [monitoring.BaselineMonth(family, m, n, 4) for m, n in zip(months, units, strict=True)],
    )


def test_the_consumers_keep_the_names_their_queues_have(bus: Bus) -> None:
    assert bus.names == [
        "compliance.check_compliance",
        "compliance.void_compliance",
        "compliance.account_on_account_created",
        "compliance.account_on_account_updated",
        "compliance.product_on_product_created",
        "compliance.product_on_product_updated",
    ]


async def test_a_plain_order_passes_once_and_a_repeat_gets_the_same_answer(bus: Bus) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Amoxicillin 500mg"))
    first = check(order_id, account_id, [(product_id, 5)])
    await bus.deliver(first)
    await bus.deliver(check(order_id, account_id, [(product_id, 5)]))
    answer, again = await bus.published(order_id)
    assert answer.type == again.type == CompliancePassed.TYPE
    assert answer.data == again.data
    assert (answer.saga_id, answer.causation_id) == ("saga-1", first.id)
    assert answer.read(CompliancePassed).run == 1
    assert [row["decision"] for row in await decisions(bus, order_id)] == ["passed"]


async def test_an_unknown_account_is_rejected_with_a_readable_detail(bus: Bus) -> None:
    product_id, order_id = new_id(), new_id()
    await bus.deliver(product_created(product_id, "Amoxicillin 500mg"))
    await bus.deliver(check(order_id, new_id(), [(product_id, 1)]))
    [answer] = await bus.published(order_id)
    rejected = answer.read(ComplianceRejected)
    assert (rejected.rule, rejected.reason, rejected.reported) == (
        "trading_partner",
        "no_registration",
        False,
    )
    assert "registration" in rejected.detail
    [row] = await decisions(bus, order_id)
    assert (row["decision"], row["reason"], row["actor"]) == (
        "rejected",
        "no_registration",
        "system",
    )


async def test_a_cii_order_is_checked_against_the_certificate_account_updated_brought(
    bus: Bus,
) -> None:
    account_id, product_id = await known_account(bus), new_id()
    await bus.deliver(product_created(product_id, "Oxycodone 5mg", "CII"))
    await monitoring.set_settings(bus.db, account_id, None, SomSettings(first_order=False))
    signed, unsigned = new_id(), new_id()
    await bus.deliver(check(signed, account_id, [(product_id, 1)], csos="26X000123"))
    await bus.deliver(check(unsigned, account_id, [(product_id, 1)]))
    [passed] = await bus.published(signed)
    [refused] = await bus.published(unsigned)
    assert passed.type == CompliancePassed.TYPE
    assert refused.read(ComplianceRejected).reason == "csos_signature_missing"


async def test_an_expired_registration_from_account_updated_rejects_controlled_orders(
    bus: Bus,
) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(account_updated(account_id, None, dea_expires_on=date(2020, 1, 1)))
    await bus.deliver(product_created(product_id, "Alprazolam 1mg", "CIV"))
    await bus.deliver(check(order_id, account_id, [(product_id, 1)]))
    [answer] = await bus.published(order_id)
    assert answer.read(ComplianceRejected).reason == "dea_registration_expired"


async def test_a_product_updated_to_unserialized_by_an_operator_is_refused(bus: Bus) -> None:

    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Amoxicillin 500mg"))
    settings = copies.ProductSettings(serialized=False, family="amoxicillin", units_per_package=1)
    view = await copies.configure_product(bus.db, product_id, settings)
    assert (view["name"], view["serialized"]) == ("Amoxicillin 500mg", False)
    await bus.deliver(check(order_id, account_id, [(product_id, 1)]))
    [answer] = await bus.published(order_id)
    assert answer.read(ComplianceRejected).reason == "product_not_serialized"


async def test_the_worked_example_is_held_then_released_and_answers_the_saga(bus: Bus) -> None:
    # given an account whose oxycodone baseline puts the limit at 6000 units, 3500 this month
    account_id, product_id = await known_account(bus), new_id()
    await bus.deliver(product_created(product_id, "Oxycodone 5mg", "CIV"))
    await bus.deliver(
        told(ProductUpdated(product_id=product_id, pack_size="100 TABLET"), product_id)
    )
    await baseline(bus, account_id, "oxycodone", [2000, 2200, 1800, 2100, 1900, 2000])
    earlier = new_id()
    await bus.deliver(check(earlier, account_id, [(product_id, 35)]))
    [passed] = await bus.published(earlier)
    assert passed.type == CompliancePassed.TYPE
    # when 30 packages of 100 are ordered (6500 > 6000)
    order_id = new_id()
    command = check(order_id, account_id, [(product_id, 30)], saga_id="saga-9")
    await bus.deliver(command)
    # then it is held, with a hold an analyst sees
    [held] = await bus.published(order_id)
    hold = held.read(ComplianceHeld)
    assert (hold.rule, hold.run) == ("som_size", 1)
    [listed] = await holds.list_holds(bus.db, "open")
    assert (listed["id"], listed["orderId"], listed["som"]["sizeLimit"]) == (
        hold.hold_id,
        order_id,
        "6000",
    )
    # a repeated check is held again, the same hold
    await bus.deliver(check(order_id, account_id, [(product_id, 30)], saga_id="saga-9"))
    assert (await bus.published(order_id))[1].data == held.data
    # when an analyst releases it
    released = await holds.release_hold(bus.db, hold.hold_id, "op-1", "called the pharmacist")
    assert (released["status"], released["decidedBy"]) == ("released", "op-1")
    answer = (await bus.published(order_id))[-1]
    assert answer.type == CompliancePassed.TYPE
    assert (answer.saga_id, answer.causation_id) == ("saga-9", command.id)
    assert answer.correlation_id == command.correlation_id
    rows = await decisions(bus, order_id)
    assert [(r["decision"], r["actor"]) for r in rows] == [("held", "system"), ("released", "op-1")]
    # and a repeated check now answers as released; deciding again is refused
    await bus.deliver(check(order_id, account_id, [(product_id, 30)], saga_id="saga-9"))
    assert (await bus.published(order_id))[-1].data == answer.data
    with pytest.raises(HoldAlreadyDecided):
        await holds.report_hold(bus.db, hold.hold_id, "op-2", "too late")


async def test_a_reported_hold_rejects_the_order_as_reported(bus: Bus) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Alprazolam 1mg", "CIV"))
    await bus.deliver(check(order_id, account_id, [(product_id, 1)]))
    [held] = await bus.published(order_id)
    assert held.read(ComplianceHeld).rule == "som_first_order"
    reported = await holds.report_hold(bus.db, held.read(ComplianceHeld).hold_id, "op-1", "SORS")
    assert reported["status"] == "reported"
    rejected = (await bus.published(order_id))[-1].read(ComplianceRejected)
    assert (rejected.reason, rejected.reported) == ("suspicious_order_reported", True)
    assert [r["decision"] for r in await decisions(bus, order_id)] == ["held", "reported"]


async def test_a_released_order_counts_in_the_history_and_a_void_takes_it_out(bus: Bus) -> None:
    account_id, product_id = await known_account(bus), new_id()
    await bus.deliver(product_created(product_id, "Alprazolam 1mg", "CIV"))
    first = new_id()
    await bus.deliver(check(first, account_id, [(product_id, 1)]))
    [held] = await bus.published(first)
    await holds.release_hold(bus.db, held.read(ComplianceHeld).hold_id, "op-1", "known shop")
    # no complete month yet: the next order is held for its size, not as a first order
    second = new_id()
    await bus.deliver(check(second, account_id, [(product_id, 1)]))
    assert (await bus.published(second))[0].read(ComplianceHeld).rule == "som_size"
    # the first run voided: its order leaves the history, so the next is a first order again
    await bus.deliver(void(first))
    await bus.deliver(void(second))
    third = new_id()
    await bus.deliver(check(third, account_id, [(product_id, 1)]))
    assert (await bus.published(third))[0].read(ComplianceHeld).rule == "som_first_order"
    [second_hold] = [h for h in await holds.list_holds(bus.db, None) if h["orderId"] == second]
    assert second_hold["status"] == "voided"


async def test_a_void_marks_the_runs_decisions_and_is_answered_even_with_nothing(
    bus: Bus,
) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Amoxicillin 500mg"))
    await bus.deliver(check(order_id, account_id, [(product_id, 1)]))
    await bus.deliver(void(order_id))
    await bus.deliver(void(order_id))
    await bus.deliver(void(new_id()))
    _, voided, again = await bus.published(order_id)
    assert voided.type == again.type == ComplianceVoided.TYPE
    assert voided.read(ComplianceVoided).run == 1
    [row] = await decisions(bus, order_id)
    assert (row["decision"], row["void_reason"]) == ("passed", "inventory_insufficient")
    assert row["voided_at"] is not None


async def test_a_replayed_run_is_checked_again(bus: Bus) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Amoxicillin 500mg"))
    await bus.deliver(check(order_id, new_id(), [(product_id, 1)]))
    await bus.deliver(check(order_id, account_id, [(product_id, 1)], run=2))
    first, second = await bus.published(order_id)
    assert first.type == ComplianceRejected.TYPE
    assert (second.type, second.read(CompliancePassed).run) == (CompliancePassed.TYPE, 2)


async def test_som_settings_per_family_override_the_accounts(bus: Bus) -> None:
    account_id, product_id, order_id = await known_account(bus), new_id(), new_id()
    await bus.deliver(product_created(product_id, "Alprazolam 1mg", "CIV"))
    await monitoring.set_settings(bus.db, account_id, None, SomSettings(first_order=False))
    await monitoring.set_settings(
        bus.db, account_id, "alprazolam", SomSettings(Decimal(3), Decimal(2), first_order=True)
    )
    await bus.deliver(check(order_id, account_id, [(product_id, 1)]))
    assert (await bus.published(order_id))[0].type == ComplianceHeld.TYPE


def test_the_payload_helper_signs_what_the_rule_verifies() -> None:
    lines = [ComplianceLine(product_id="b", quantity=1), ComplianceLine(product_id="a", quantity=2)]
    assert csos_payload("26X000001", DEA, lines) == b"CSOS1|26X000001|BP1234563|a:2|b:1"
