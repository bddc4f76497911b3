"""Compliance's rules (pharma rules §2, §3): trading partner, DSCSA, DEA registration, CSOS
signatures and suspicious order monitoring, decided on plain values."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.compliance.domain import (
    Account,
    Csos,
    Line,
    Order,
    Product,
    address_key,
    csos_payload,
    default_family,
    dosage_units,
    eligibility,
    same_address,
    units_per_package,
)
from orderly.compliance.som import SomHistory, SomSettings, previous_months, som_hit
from tests.csos import purchaser

DAY = date(2026, 7, 15)
ADDRESS = {"line1": "1 Main St.", "city": "Springfield", "state": "IL", "postal_code": "62701"}
DEA = "BP1234563"
SIGNER = purchaser(date(2026, 1, 1), date(2026, 12, 31))

ACCOUNT = Account(
    account_id="a-1",
    dea_number=DEA,
    schedules=frozenset({"2", "2N", "3", "3N", "4", "5"}),
    dea_expires_on=date(2027, 1, 1),
    dea_active=True,
    registered_address=ADDRESS,
    licence_state="IL",
    licence_expires_on=date(2027, 1, 1),
    can_order_schedule_ii=True,
    csos_certificate=SIGNER.certificate_pem,
)
PLAIN = Product("p-plain", "Amoxicillin 500mg", None, "amoxicillin")
CIV = Product("p-civ", "Alprazolam 1mg", "CIV", "alprazolam", units_per_package=100)
CII = Product("p-cii", "Oxycodone 5mg", "CII", "oxycodone", units_per_package=100)
PRODUCTS = {p.product_id: p for p in (PLAIN, CIV, CII)}


def order(*lines: Line, ship_to: dict[str, str] | None = None, csos: Csos | None = None) -> Order:
    return Order("o-1", DAY, ship_to or ADDRESS, list(lines), csos)


def signed(*lines: Line, number: str = "26X000123") -> Order:
    return order(*lines, csos=Csos(number, SIGNER.sign(number, DEA, lines)))


def reason(account: Account | None, placed: Order) -> str | None:
    refusal = eligibility(account, placed, PRODUCTS)
    return refusal.reason if refusal else None


def test_an_account_in_good_standing_may_buy_every_schedule_it_holds() -> None:
    placed = signed(Line("p-plain", 2), Line("p-civ", 1), Line("p-cii", 3))
    assert reason(ACCOUNT, placed) is None


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        pytest.param(None, "no_registration", id="unknown-account"),
        pytest.param(replace(ACCOUNT, dea_number=None), "no_registration", id="no-registration"),
        pytest.param(
            replace(ACCOUNT, licence_state=None), "state_licence_invalid", id="no-licence"
        ),
        pytest.param(
            replace(ACCOUNT, licence_expires_on=date(2026, 7, 14)),
            "state_licence_invalid",
            id="licence-expired",
        ),
        pytest.param(
            replace(ACCOUNT, dea_active=False), "dea_registration_inactive", id="inactive"
        ),
        pytest.param(
            replace(ACCOUNT, dea_expires_on=date(2026, 7, 14)),
            "dea_registration_expired",
            id="dea-expired",
        ),
        pytest.param(
            replace(ACCOUNT, schedules=frozenset({"2", "3", "3N", "4"})),
            "schedule_not_covered",
            id="cii-needs-2n-too",
        ),
        pytest.param(
            replace(ACCOUNT, registered_address=None), "ship_to_not_registered", id="no-address"
        ),
        pytest.param(
            replace(ACCOUNT, can_order_schedule_ii=False),
            "schedule_ii_not_permitted",
            id="no-schedule-ii",
        ),
        pytest.param(
            replace(ACCOUNT, csos_certificate=None), "csos_certificate_missing", id="no-cert"
        ),
        pytest.param(
            replace(ACCOUNT, csos_certificate=purchaser().certificate_pem),
            "csos_signature_invalid",
            id="another-key",
        ),
        pytest.param(
            replace(
                ACCOUNT,
                csos_certificate=purchaser(date(2025, 1, 1), date(2026, 7, 14)).certificate_pem,
            ),
            "csos_certificate_expired",
            id="cert-expired",
        ),
        pytest.param(
            replace(ACCOUNT, dea_number="AP5836727"), "csos_signature_invalid", id="other-dea"
        ),
    ],
)
def test_a_cii_order_is_refused_for_the_first_rule_it_breaks(
    account: Account | None, expected: str
) -> None:
    assert reason(account, signed(Line("p-cii", 3))) == expected


def test_a_cii_order_needs_its_signature_and_a_valid_order_number() -> None:
    assert reason(ACCOUNT, order(Line("p-cii", 3))) == "csos_signature_missing"
    assert reason(ACCOUNT, signed(Line("p-cii", 3), number="2026X0001")) == (
        "csos_order_number_invalid"
    )
    garbage = order(Line("p-cii", 3), csos=Csos("26X000123", "not base64!"))
    assert reason(ACCOUNT, garbage) == "csos_signature_invalid"


def test_a_signed_order_cannot_be_changed_after_signing() -> None:
    good = signed(Line("p-cii", 3))
    more = replace(good, lines=[Line("p-cii", 4)])
    assert reason(ACCOUNT, more) == "csos_signature_invalid"


def test_non_controlled_lines_need_a_licence_not_schedules_nor_the_registered_address() -> None:
    lapsed = replace(ACCOUNT, dea_active=False, schedules=frozenset(), registered_address=None)
    elsewhere = {**ADDRESS, "line1": "9 Other Rd"}
    assert reason(lapsed, order(Line("p-plain", 5), ship_to=elsewhere)) is None
    assert reason(replace(lapsed, licence_state=None), order(Line("p-plain", 5))) == (
        "state_licence_invalid"
    )


def test_controlled_lines_ship_only_to_the_registered_address() -> None:
    elsewhere = {**ADDRESS, "line1": "9 Other Rd"}
    assert reason(ACCOUNT, order(Line("p-civ", 1), ship_to=elsewhere)) == ("ship_to_not_registered")


def test_an_unserialized_or_unknown_product_is_not_sold() -> None:
    products = {**PRODUCTS, "p-plain": replace(PLAIN, serialized=False)}
    refusal = eligibility(ACCOUNT, order(Line("p-plain", 1)), products)
    assert refusal is not None
    assert (refusal.rule, refusal.reason) == ("dscsa", "product_not_serialized")
    assert reason(ACCOUNT, order(Line("p-nope", 1))) == "product_unknown"


def test_schedule_i_is_never_sold() -> None:
    products = {**PRODUCTS, "p-ci": Product("p-ci", "Heroin", "CI", "heroin")}
    refusal = eligibility(ACCOUNT, order(Line("p-ci", 1)), products)
    assert refusal is not None
    assert refusal.reason == "schedule_not_covered"


def test_addresses_compare_without_case_punctuation_or_zip4() -> None:
    shown = {"line1": "1 MAIN ST", "city": "springfield", "state": "il", "postalCode": "62701-1234"}
    assert same_address(ADDRESS, shown)
    assert address_key(shown) == ("1 main st", "springfield", "il", "62701")
    assert not same_address(ADDRESS, {**shown, "city": "Chicago"})
    assert not same_address({}, {})


def test_the_payload_is_the_order_number_dea_and_sorted_lines() -> None:
    lines = [Line("b", 2), Line("a", 10)]
    assert csos_payload("26X000123", DEA, lines) == b"CSOS1|26X000123|BP1234563|a:10|b:2"


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(1, 999)), max_size=6))
def test_the_payload_does_not_depend_on_the_lines_order(pairs: list[tuple[str, int]]) -> None:
    lines = [Line(p, q) for p, q in pairs]
    assert csos_payload("26X000123", DEA, lines) == csos_payload(
        "26X000123", DEA, list(reversed(lines))
    )


def test_dosage_units_count_controlled_lines_by_family() -> None:
    lines = [Line("p-cii", 30), Line("p-plain", 5), Line("p-cii", 2), Line("p-civ", 1)]
    assert dosage_units(lines, PRODUCTS) == {"oxycodone": 3200, "alprazolam": 100}


def test_pack_sizes_and_families_have_defaults() -> None:
    assert units_per_package("100 TABLET in 1 BOTTLE") == 100
    assert units_per_package(None) == 1
    assert units_per_package("1 BOTTLE") == 1
    assert default_family("Oxycodone HCl 5 mg") == "oxycodone"


# Suspicious order monitoring

WORKED = dict(
    zip(
        previous_months(DAY),
        [(2000, 4), (2200, 4), (1800, 4), (2100, 4), (1900, 4), (2000, 4)],
        strict=True,
    )
)


def history(to_date: int = 0, recent: int = 1) -> SomHistory:
    return SomHistory(months={**WORKED, "2026-07": (to_date, recent)}, recent_orders=recent)


def test_the_worked_example_is_held_for_its_size() -> None:
    # given 2000/2200/1800/2100/1900/2000 (limit 6000) and 3500 this month
    # when 30 packages of 100 units are ordered: 6500 > 6000
    hit = som_hit(SomSettings(), history(3500), DAY, 30 * 100, "oxycodone")
    assert hit is not None
    assert hit.reason == "som_size"
    assert hit.figures["sizeLimit"] == "6000"


def test_a_small_order_is_not_held() -> None:
    assert som_hit(SomSettings(), history(3500), DAY, 2500, "oxycodone") is None


def test_orders_more_often_than_usual_are_held() -> None:
    # the usual is 4 a month: the 9th in 30 days is more than twice that
    hit = som_hit(SomSettings(), history(100, recent=8), DAY, 100, "oxycodone")
    assert hit is not None
    assert hit.reason == "som_frequency"
    assert som_hit(SomSettings(), history(100, recent=7), DAY, 100, "oxycodone") is None


def test_a_first_order_is_held_unless_the_account_says_otherwise() -> None:
    hit = som_hit(SomSettings(), SomHistory(), DAY, 100, "oxycodone")
    assert hit is not None
    assert hit.reason == "som_first_order"
    lax = SomSettings(first_order=False)
    assert som_hit(lax, SomHistory(), DAY, 100, "oxycodone") is None


def test_history_without_a_complete_month_holds_every_order() -> None:
    thin = SomHistory(months={"2026-07": (100, 1)}, recent_orders=1)
    hit = som_hit(SomSettings(), thin, DAY, 1, "oxycodone")
    assert hit is not None
    assert hit.reason == "som_size"


@given(
    st.integers(0, 20_000),
    st.integers(1, 20_000),
    st.decimals(Decimal("0.5"), Decimal(10), places=2),
)
def test_size_holds_exactly_past_the_limit(to_date: int, units: int, factor: Decimal) -> None:
    settings = SomSettings(size_factor=factor, frequency_factor=Decimal(100))
    hit = som_hit(settings, history(to_date), DAY, units, "oxycodone")
    limit = factor * 2000
    assert (hit is not None and hit.reason == "som_size") == (to_date + units > limit)


@given(st.integers(0, 20_000), st.integers(1, 5_000), st.integers(1, 5_000))
def test_a_larger_order_is_held_whenever_a_smaller_one_is(
    to_date: int, smaller: int, extra: int
) -> None:
    small = som_hit(SomSettings(), history(to_date), DAY, smaller, "oxycodone")
    large = som_hit(SomSettings(), history(to_date), DAY, smaller + extra, "oxycodone")
    assert small is None or large is not None


def test_the_baseline_is_the_six_months_before_the_orders_month() -> None:
    assert previous_months(date(2026, 2, 3)) == [
        "2026-01",
        "2025-12",
        "2025-11",
        "2025-10",
        "2025-09",
        "2025-08",
    ]
