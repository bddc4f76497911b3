"""ATP and FEFO on the pharma rules' worked example (§6), and their edges."""

from datetime import date, timedelta

import pytest

from orderly.inventory.domain import Figures, Lot, LotStatus, atp, fefo, figures, received_status

ORDERED = date(2026, 1, 15)


def lot(name: str, on_hand: int, expires: date | None, reserved: int = 0, **kw: str) -> Lot:
    return Lot(
        id=name,
        dc=kw.get("dc", "MAIN"),
        lot_number=name,
        expires_on=expires,
        received_at=kw.get("received", "2025-01-01"),
        on_hand=on_hand,
        reserved=reserved,
        status=kw.get("status", "released"),
    )


WORKED = [
    lot("A", 40, date(2026, 3, 31)),
    lot("B", 100, date(2027, 1, 31), reserved=50),
    lot("C", 60, date(2027, 6, 30)),
]


def test_the_worked_example_promises_90_and_takes_b_before_c() -> None:
    # minimum shelf life 180 days excludes lot A; safety stock 20
    assert atp(WORKED, soft_reserved=0, safety_stock=20, today=ORDERED, shelf_life_days=180) == 90
    taken = fefo(WORKED, 70, ORDERED, shelf_life_days=180)
    assert taken is not None
    assert [(chosen.lot_number, units) for chosen, units in taken] == [("B", 50), ("C", 20)]


def test_without_a_shelf_life_the_earliest_lot_goes_first() -> None:
    taken = fefo(WORKED, 45, ORDERED)
    assert taken is not None
    assert [(chosen.lot_number, units) for chosen, units in taken] == [("A", 40), ("B", 5)]


def test_quarantined_and_expired_lots_are_blocked() -> None:
    lots = [
        lot("Q", 30, date(2027, 1, 1), status="quarantined"),
        lot("X", 30, date(2026, 1, 15)),  # expires today: not sellable
        lot("OK", 10, None),
    ]
    assert atp(lots, 0, 0, ORDERED) == 10
    assert fefo(lots, 11, ORDERED) is None
    assert fefo(lots, 10, ORDERED) == [(lots[2], 10)]


def test_soft_reservations_and_safety_stock_come_off_and_atp_stays_at_zero() -> None:
    lots = [lot("L", 10, None, reserved=4)]
    assert atp(lots, soft_reserved=3, safety_stock=2, today=ORDERED) == 1
    assert atp(lots, soft_reserved=30, safety_stock=2, today=ORDERED) == 0


def test_equal_expiry_takes_the_oldest_receipt_first() -> None:
    lots = [
        lot("NEW", 5, date(2027, 1, 1), received="2025-06-01"),
        lot("OLD", 5, date(2027, 1, 1), received="2025-01-01"),
    ]
    taken = fefo(lots, 6, ORDERED)
    assert taken is not None
    assert [(chosen.lot_number, units) for chosen, units in taken] == [("OLD", 5), ("NEW", 1)]


@pytest.mark.parametrize(
    ("expires", "status"),
    [
        (ORDERED - timedelta(days=1), LotStatus.EXPIRED),
        (ORDERED, LotStatus.EXPIRED),  # not sold on its expiry date
        (ORDERED + timedelta(days=1), LotStatus.RELEASED),
        (None, LotStatus.RELEASED),
    ],
    ids=["yesterday", "today", "tomorrow", "no-expiry"],
)
def test_a_lot_received_on_or_past_its_expiry_is_expired(
    expires: date | None, status: LotStatus
) -> None:
    assert received_status(expires, ORDERED) == status


def test_a_lot_that_expires_on_hand_shows_expired_and_is_not_promised() -> None:
    aging = lot("AGING", 10, date(2026, 2, 1))
    assert aging.state(ORDERED) == "released"
    assert aging.state(date(2026, 2, 1)) == "expired"
    assert atp([aging], 0, 0, date(2026, 2, 1)) == 0


def test_each_unit_is_counted_once_even_when_holds_and_safety_stock_exceed_what_is_usable() -> None:
    lots = [
        lot("Q", 10, None, reserved=8, status="quarantined"),  # an order's units, blocked after
        lot("OK", 5, None),
    ]
    assert figures(lots, soft_reserved=4, safety_stock=3, today=ORDERED) == Figures(
        on_hand=15,
        hard_reserved=8,
        blocked=2,
        soft_reserved=4,
        safety_stock=1,
        safety_stock_level=3,
        atp=0,
    )
    assert figures(lots, soft_reserved=9, safety_stock=3, today=ORDERED).soft_reserved == 5
