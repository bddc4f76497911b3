"""The fault-injection suite's own rules: a seed repeats a run's faults, and each check finds
the violation it is there for (a check that cannot fail would prove nothing)."""

import itertools

from chaos import invariants, schedule
from chaos.load import Attempt

PROCESSES = ["ordering", "ordering-2", "inventory", "inventory-2", "payments", "catalog"]


def test_a_seed_repeats_its_faults_and_another_seed_does_not() -> None:
    first = schedule.draw(7, 60, PROCESSES)
    assert first == schedule.draw(7, 60, list(reversed(PROCESSES)))
    assert first != schedule.draw(8, 60, PROCESSES)


def test_every_kind_of_fault_is_drawn_within_the_load_and_windows_do_not_overlap() -> None:
    faults = schedule.draw(1, 40, PROCESSES)
    assert {f.kind for f in faults} == set(schedule.KINDS)
    assert all(f.at > 0 and f.at + f.seconds <= 40 for f in faults)
    assert {f.target for f in faults if f.kind == "kill"} <= set(PROCESSES)
    lasting = sorted((f for f in faults if f.kind != "kill"), key=lambda f: f.at)
    for before, after in itertools.pairwise(lasting):
        assert before.at + before.seconds <= after.at


def test_without_restarts_no_server_is_restarted() -> None:
    kinds = {f.kind for f in schedule.draw(1, 40, PROCESSES, restarts=False)}
    assert not kinds & {"rabbitmq_restart", "postgres_restart"}


def accepted(attempt: str, order: str) -> Attempt:
    return Attempt(attempt, "b2c", outcome="accepted", status=201, order_id=order)


def test_an_accepted_order_missing_is_lost_and_an_attempt_made_twice_is_found() -> None:
    orders = [
        {"id": "o1", "attempt": "chaos:a1", "status": "processing", "channel": "b2c"},
        {"id": "o2", "attempt": "chaos:a2", "status": "processing", "channel": "b2c"},
        {"id": "o3", "attempt": "chaos:a2", "status": "pending", "channel": "b2c"},
    ]
    attempts = [accepted("a1", "o1"), accepted("a2", "o2"), accepted("a4", "o4")]
    assert len(invariants.lost_orders(attempts, orders).violations) == 1  # o4
    assert len(invariants.orders_made_twice(attempts, orders).violations) == 1  # a2
    assert len(invariants.stuck_orders(orders).violations) == 1  # o3
    unpaid = {"id": "o5", "attempt": "chaos:a5", "status": "confirmed", "channel": "b2c"}
    on_account = {**unpaid, "channel": "b2b"}
    assert len(invariants.stuck_orders([unpaid, on_account]).violations) == 1
    fine = [accepted("a1", "o1")]
    assert not invariants.lost_orders(fine, orders[:1]).violations
    assert not invariants.orders_made_twice(fine, orders[:1]).violations


def test_money_captured_or_refunded_twice_is_found_from_the_gateways_ledger() -> None:
    payments = [{"order_id": "o1", "auth_ref": "auth_1"}, {"order_id": "o2", "auth_ref": "auth_2"}]
    once = [
        {"kind": "authorize", "reference": "auth_1", "cents": 500},
        {"kind": "capture", "reference": "auth_1", "cents": 500},
        {"kind": "refund", "reference": "auth_1", "cents": 500},
        {"kind": "capture", "reference": "auth_2", "cents": 700},
    ]
    assert [c.violations for c in invariants.money(payments, once)] == [[], []]
    twice = [*once, {"kind": "capture", "reference": "auth_2", "cents": 700}]
    charged, refunded = invariants.money(payments, twice)
    assert len(charged.violations) == 1
    assert not refunded.violations
    over = [*once, {"kind": "refund", "reference": "auth_1", "cents": 500}]
    charged, refunded = invariants.money(payments, over)
    assert not charged.violations
    assert len(refunded.violations) == 2


def test_sales_orders_and_mails_made_twice_are_found() -> None:
    one = {"request": {"PurchaseOrderByCustomer": "o1"}}
    other = {"request": {"PurchaseOrderByCustomer": "o2"}}
    assert not invariants.sales_orders_made_twice([one, other]).violations
    assert len(invariants.sales_orders_made_twice([one, other, one]).violations) == 1
    assert not invariants.mails_sent_twice(["<m1>", "<m2>"]).violations
    assert len(invariants.mails_sent_twice(["<m1>", "<m2>", "<m1>"]).violations) == 1


def test_stock_that_does_not_add_up_is_found_per_product_and_lot() -> None:
    stock = {"p1": 100}
    lots = [{"id": "l1", "product_id": "p1", "on_hand": 97, "reserved": 2}]
    reservations = [
        {"status": "live", "allocations": '[{"lotId": "l1", "quantity": 2}]'},
        {"status": "picked", "allocations": '[{"lotId": "l1", "quantity": 3}]'},
        {"status": "released", "allocations": '[{"lotId": "l1", "quantity": 9}]'},
    ]
    assert not invariants.stock_conservation(stock, lots, reservations).violations
    # three units gone without a shipment, and a reservation the lot does not count
    short = [{"id": "l1", "product_id": "p1", "on_hand": 94, "reserved": 1}]
    assert len(invariants.stock_conservation(stock, short, reservations).violations) == 2
    negative = [{"id": "l1", "product_id": "p1", "on_hand": -1, "reserved": 2}]
    found = invariants.stock_conservation(stock, negative, reservations).violations
    assert any("on hand -1" in line for line in found)


def test_an_open_saga_counts_unless_an_operator_sees_its_dead_letter() -> None:
    sagas = [{"id": "s1", "kind": "b2b", "state": "running", "order_id": "o1"}]
    assert len(invariants.open_sagas(sagas, set(), set()).violations) == 1
    assert not invariants.open_sagas(sagas, {"o1"}, set()).violations
    # nor while it waits on an analyst or an approver
    assert not invariants.open_sagas(sagas, set(), {"o1"}).violations


def test_an_order_on_hold_with_no_open_hold_is_hidden() -> None:
    orders = [{"id": "o1", "status": "on_hold"}, {"id": "o2", "status": "on_hold"}]
    assert len(invariants.hidden_holds(orders, [{"order_id": "o1"}]).violations) == 1
