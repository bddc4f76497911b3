"""ATP and FEFO on the pharma rules' worked example (§6), and their edges."""

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orderly.inventory.domain import (
    Figures,
    Lot,
    LotStatus,
    SoftHold,
    Stock,
    atp,
    fefo,
    figures,
    received_status,
)

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


# -- a product's stock across DCs: what a reservation or a cart hold may take ---------------

DCS = ("EAST", "MAIN")
lots_in_dcs = st.lists(
    st.builds(
        lambda n, dc, on_hand, reserved, days, status: lot(
            f"L{n}",
            on_hand,
            ORDERED + timedelta(days=days) if days is not None else None,
            reserved=min(reserved, on_hand),
            dc=dc,
            status=status,
        ),
        st.integers(0, 999),
        st.sampled_from(DCS),
        st.integers(0, 50),
        st.integers(0, 50),
        st.one_of(st.none(), st.integers(-5, 400)),
        st.sampled_from(["released", "released", "quarantined"]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda made: made.id,  # as in the database: a lot id names one lot, in one DC
)
soft_holds = st.lists(
    st.builds(
        lambda n, dc, units: SoftHold(f"h{n}", f"cart-{n}", "P", dc, units),
        st.integers(0, 99),
        st.sampled_from(DCS),
        st.integers(1, 20),
    ),
    max_size=4,
    unique_by=lambda hold: hold.id,
)
stocks = st.builds(
    Stock,
    lots_in_dcs,
    soft_holds,
    st.dictionaries(st.sampled_from(DCS), st.integers(0, 30), max_size=2),
)


@given(stock=stocks, quantity=st.integers(1, 60), shelf_life=st.sampled_from([0, 30, 180]))
def test_a_line_is_filled_from_the_first_dc_that_can_or_from_none(
    stock: Stock, quantity: int, shelf_life: int
) -> None:
    able = [dc for dc in stock.dcs() if stock.atp(dc, ORDERED, shelf_life) >= quantity]

    chosen = stock.choose(quantity, ORDERED, shelf_life)

    if not able:
        assert chosen is None
        return
    assert chosen is not None
    dc, allocation = chosen
    assert dc == able[0]
    assert sum(units for _, units in allocation) == quantity
    for taken, units in allocation:
        assert taken.dc == dc
        assert taken.usable(ORDERED, shelf_life)
        assert 0 < units <= taken.free


@given(stock=stocks, data=st.data())
def test_what_a_line_takes_comes_off_its_dcs_atp_and_no_other(
    stock: Stock, data: st.DataObject
) -> None:
    most = max((stock.atp(dc, ORDERED) for dc in stock.dcs()), default=0)
    assume(most > 0)
    quantity = data.draw(st.integers(1, most))

    chosen = stock.choose(quantity, ORDERED)

    assert chosen is not None
    dc, allocation = chosen
    before = {each: stock.atp(each, ORDERED) for each in stock.dcs()}

    stock.take(allocation)

    after = {each: stock.atp(each, ORDERED) for each in stock.dcs()}
    assert after == {**before, dc: before[dc] - quantity}
    assert stock.total_atp(ORDERED) == sum(before.values()) - quantity


@given(stock=stocks)
def test_each_dcs_figures_count_every_unit_once_and_agree_with_its_atp(stock: Stock) -> None:
    for dc in stock.dcs():
        shown = stock.figures(dc, ORDERED)
        parts = (shown.hard_reserved, shown.blocked, shown.soft_reserved, shown.safety_stock)
        assert shown.on_hand == sum(parts) + shown.atp
        assert shown.atp == stock.atp(dc, ORDERED)


@given(stock=stocks, quantity=st.integers(1, 60))
def test_a_cart_is_held_in_the_first_dc_whose_atp_besides_its_own_hold_covers_it(
    stock: Stock, quantity: int
) -> None:
    own = stock.soft[0] if stock.soft else None
    ignore = own.id if own else ""

    dc = stock.dc_for(quantity, ORDERED, ignore)

    able = [each for each in stock.dcs() if stock.atp(each, ORDERED, 0, ignore) >= quantity]
    assert dc == (able[0] if able else None)


def test_a_carts_own_hold_counts_for_its_order_and_its_dc_comes_first() -> None:
    stock = Stock(
        lots=[lot("M", 10, None, dc="MAIN"), lot("E", 10, None, dc="EAST")],
        soft=[
            SoftHold("mine", "cart-1", "P", "MAIN", 8),
            SoftHold("theirs", "cart-2", "P", "EAST", 3),
        ],
        safety={},
    )
    own = stock.hold_of("cart-1", "P")
    assert own is not None
    assert own.id == "mine"
    assert stock.hold_of("cart-1", "OTHER") is None
    assert stock.hold_of("", "P") is None

    # EAST comes first by name, but the cart's hold is in MAIN: its 8 count for it there
    chosen = stock.choose(9, ORDERED, own=own)
    assert chosen is not None
    assert chosen[0] == "MAIN"
    # without its hold, only EAST's 7 free units are left to anyone
    assert stock.choose(9, ORDERED) is None
    assert stock.total_atp(ORDERED) == 2 + 7
    assert stock.total_atp(ORDERED, ignore="mine") == 10 + 7
