"""Picking and wave rules: scans on the pharma rules' worked example (R2.1) and generated
ones, every way a scan can miss its pick, short picks and their backorders, and waves that
never overflow."""

import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.fulfillment.domain import (
    BackorderNotOpen,
    BackorderStatus,
    OrderNotValid,
    move_backorder,
    validate,
)
from orderly.fulfillment.picking import (
    GROUP_SEPARATOR,
    NotShort,
    PickTask,
    Refusal,
    Scan,
    ScanRefused,
    ShortPolicy,
    check_scan,
    read_scan,
    short_by_product,
    short_pick,
)
from orderly.fulfillment.waves import Candidate, Lane, OpenWave, WaveRules, choose

TODAY = date(2026, 12, 4)
# R2.1: 12345-6789-1 as a GTIN, expiring 2027-12-31, lot LOT123, serial SN0001
WORKED = f"01003123456789131727123110LOT123{GROUP_SEPARATOR}21SN0001"
GTIN = "00312345678913"
OTHER_GTIN = "00305910369019"  # R1.5: 0591-0369-01


def task(**changes: object) -> PickTask:
    base = PickTask(
        id="t1",
        gtin=GTIN,
        lot="LOT123",
        expires_on=date(2027, 12, 31),
        location="A-01-03",
        quantity=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def refused(reason: Refusal, scan: Scan, pick: PickTask | None = None, **kw: object) -> None:
    lots = kw.get("order_lots", ("LOT123",))
    today = kw.get("today", TODAY)
    with pytest.raises(ScanRefused) as caught:
        check_scan(pick or task(), scan, today, lots)  # type: ignore[arg-type]
    assert caught.value.reason is reason
    assert caught.value.extensions == {"reason": reason.value}


def test_the_worked_example_reads_as_printed_and_as_scanned() -> None:
    expected = Scan(GTIN, "LOT123", date(2027, 12, 31), "SN0001")
    assert read_scan(WORKED) == expected
    assert read_scan("]d2" + WORKED) == expected  # a DataMatrix scanner's symbology prefix
    assert read_scan("(01)00312345678913(17)271231(10)LOT123(21)SN0001") == expected
    # DD=00: the end of the month
    assert read_scan("(01)00312345678913(17)270200(10)LOT123").expires_on == date(2027, 2, 28)


@pytest.mark.parametrize(
    "scanned",
    [
        "",
        "hello",
        "0100312345678914",  # the check digit is wrong
        "1727123110LOT123",  # no GTIN
        "010031234567891317271332",  # no such date
        "(01)0031234567891",  # too short
        "(99)",
    ],
)
def test_a_barcode_that_is_not_a_unit_s_element_string_is_malformed(scanned: str) -> None:
    with pytest.raises(ScanRefused) as caught:
        read_scan(scanned)
    assert caught.value.reason is Refusal.MALFORMED


@given(st.text(max_size=60))
def test_any_text_is_a_scan_or_refused_as_malformed(scanned: str) -> None:
    reason = None
    try:
        scan = read_scan(scanned)
    except ScanRefused as refusal:
        reason = refusal.reason
    if reason is not None:
        assert reason is Refusal.MALFORMED
        return
    assert len(scan.gtin) == 14
    assert scan.gtin.isdigit()


LOTS = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=20)
DATES = st.dates(date(2027, 1, 1), date(2060, 12, 31))


@st.composite
def gtins(draw: st.DrawFn) -> str:
    body = draw(st.text(string.digits, min_size=13, max_size=13))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@given(gtins(), DATES, LOTS, LOTS, st.booleans())
def test_a_unit_s_barcode_reads_back_what_was_printed(
    gtin: str, expires: date, lot: str, serial: str, printed: bool
) -> None:
    yymmdd = expires.strftime("%y%m%d")
    if printed:
        scanned = f"(01){gtin}(17){yymmdd}(10){lot}(21){serial}"
    else:
        scanned = f"01{gtin}17{yymmdd}10{lot}{GROUP_SEPARATOR}21{serial}"
    assert read_scan(scanned) == Scan(gtin, lot, expires, serial)


def test_a_unit_of_the_pick_is_picked_with_its_serial_number() -> None:
    assert check_scan(task(), read_scan(WORKED), TODAY, ["LOT123"]) == "SN0001"
    # a product without serial numbers is picked by its lot
    unserialised = task(serialised=False)
    assert check_scan(unserialised, Scan(GTIN, "LOT123"), TODAY, ["LOT123"]) == ""


def test_every_way_a_scan_misses_its_pick_is_refused_with_its_reason() -> None:
    good = read_scan(WORKED)
    refused(Refusal.WRONG_PRODUCT, replace(good, gtin=OTHER_GTIN))
    refused(Refusal.WRONG_LOT, replace(good, lot="LOT9"), order_lots=("LOT123", "LOT9"))
    refused(Refusal.LOT_NOT_ALLOCATED, replace(good, lot="LOT9"))
    refused(Refusal.LOT_NOT_ALLOCATED, replace(good, lot=None))
    refused(Refusal.WRONG_EXPIRY, replace(good, expires_on=date(2027, 12, 30)))
    refused(Refusal.EXPIRED, good, today=date(2027, 12, 31))  # not on its expiry day
    refused(Refusal.NO_SERIAL, replace(good, serial=None))
    refused(Refusal.SERIAL_PICKED, good, task(picked=("SN0001",)))
    refused(Refusal.DONE, replace(good, serial="SN0003"), task(picked=("SN0001", "SN0002")))


@given(st.integers(1, 50), st.integers(0, 50), st.sampled_from(ShortPolicy))
def test_a_short_pick_accounts_for_every_unit_asked(
    quantity: int, found: int, policy: ShortPolicy
) -> None:
    pick = task(quantity=quantity, picked=tuple(f"S{i}" for i in range(min(found, quantity))))
    if found >= quantity:
        with pytest.raises(NotShort):
            short_pick(pick, policy)
        return
    short = short_pick(pick, policy)
    assert short.picked + short.backordered + short.cancelled == quantity
    assert short.picked == found
    assert (short.backordered > 0) == (policy is ShortPolicy.BACKORDER)


def test_the_older_name_of_cancelling_a_line_still_reads() -> None:
    assert ShortPolicy("cancel") is ShortPolicy("cancel_line") is ShortPolicy.CANCEL
    with pytest.raises(ValueError, match="refund"):
        ShortPolicy("refund")


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 9)), max_size=12))
def test_an_orders_units_short_are_summed_per_product(shorts: list[tuple[str, int]]) -> None:
    found = short_by_product(shorts)
    assert sum(found.values()) == sum(units for _, units in shorts)
    assert all(units > 0 for units in found.values())
    assert set(found) == {product for product, units in shorts if units}


def test_a_backorder_is_released_and_fulfilled_or_cancelled_and_never_moves_back() -> None:
    open_, released = BackorderStatus.OPEN, BackorderStatus.RELEASED
    assert move_backorder(open_, released) is released
    assert move_backorder(released, BackorderStatus.FULFILLED) is BackorderStatus.FULFILLED
    assert move_backorder(released, open_) is open_  # inventory had no stock for it after all
    assert move_backorder(open_, BackorderStatus.CANCELLED) is BackorderStatus.CANCELLED
    for done in (BackorderStatus.FULFILLED, BackorderStatus.CANCELLED):
        for wanted in BackorderStatus:
            with pytest.raises(BackorderNotOpen):
                move_backorder(done, wanted)
    with pytest.raises(BackorderNotOpen):
        move_backorder(released, released)


NOON = datetime(2026, 12, 4, 12, tzinfo=UTC)
LANES = [
    Lane("MAIN", zone, carrier, NOON + timedelta(hours=hours))
    for zone in ("A", "B")
    for carrier in ("UPS", "FEDEX")
    for hours in (4, 28)
]


@given(
    st.lists(
        st.tuples(st.sampled_from(LANES), st.integers(1, 30), st.integers(1, 300)), max_size=60
    ),
    st.integers(1, 40),
    st.integers(1, 400),
)
def test_waves_hold_one_lane_and_overflow_only_for_an_order_alone(
    orders: list[tuple[Lane, int, int]], max_lines: int, max_units: int
) -> None:
    rules = WaveRules(max_lines=max_lines, max_units=max_units)
    waves: dict[str, OpenWave] = {}
    members: dict[str, list[Candidate]] = {}
    for n, (lane, lines, units) in enumerate(orders):
        candidate = Candidate(lane, lines, units)
        chosen = choose(candidate, waves.values(), rules)
        fitting = [
            w
            for w in waves.values()
            if w.lane == lane and w.lines + lines <= max_lines and w.units + units <= max_units
        ]
        if chosen is None:
            assert not fitting
            chosen = f"w{n}"
            waves[chosen] = OpenWave(chosen, lane, NOON + timedelta(seconds=n), 0, 0)
        else:  # the oldest that fits
            assert waves[chosen].opened_at == min(w.opened_at for w in fitting)
        wave = waves[chosen]
        waves[chosen] = replace(wave, lines=wave.lines + lines, units=wave.units + units)
        members.setdefault(chosen, []).append(candidate)
    for wave_id, wave in waves.items():
        held = members[wave_id]
        assert {c.lane for c in held} == {wave.lane}
        assert wave.lines == sum(c.lines for c in held)
        if len(held) > 1:
            assert wave.lines <= max_lines
            assert wave.units <= max_units


ADDRESS = {"street": "1 Main St", "city": "Philadelphia", "state": "PA", "zip": "19104"}


@given(
    st.dictionaries(
        st.sampled_from(["p1", "p2", "p3"]), st.integers(min_value=1, max_value=50), min_size=1
    ),
    st.integers(min_value=1, max_value=3),
)
def test_an_order_allocated_unit_for_unit_is_valid_however_its_lots_split(
    lines: dict[str, int], parts: int
) -> None:
    items = [{"product_id": p, "quantity": q} for p, q in lines.items()]
    # each line's units spread over up to `parts` lots
    lots = []
    for product, quantity in lines.items():
        share = [quantity // parts] * (parts - 1)
        lots += [{"product_id": product, "quantity": q} for q in share if q]
        lots.append({"product_id": product, "quantity": quantity - sum(share)})
    assert validate(items, ADDRESS, lots) == {"lines": len(lines), "units": sum(lines.values())}


def test_an_order_not_allocated_as_ordered_or_without_an_address_is_not_valid() -> None:
    items = [{"product_id": "p1", "quantity": 3}]
    with pytest.raises(OrderNotValid):
        validate(items, ADDRESS, [{"product_id": "p1", "quantity": 2}])
    with pytest.raises(OrderNotValid):
        validate(
            items,
            ADDRESS,
            [{"product_id": "p1", "quantity": 3}, {"product_id": "p2", "quantity": 1}],
        )
    with pytest.raises(OrderNotValid):
        validate(items, {}, [{"product_id": "p1", "quantity": 3}])
