"""Who may buy a controlled substance: a DEA registration, active now, covering its schedule."""

from datetime import date

import pytest

from orderly.ordering.controlled import ControlledSubstanceNotAllowed, Registration, check

TODAY = date(2026, 6, 1)
FULL = frozenset({"2", "2N", "3", "3N", "4", "5"})


def registration(
    schedules: frozenset[str] = FULL,
    expires_on: date | None = date(2027, 6, 30),
    *,
    active: bool = True,
    schedule_ii: bool = True,
) -> Registration:
    return Registration(schedules, expires_on, active=active, schedule_ii=schedule_ii)


@pytest.mark.parametrize(
    ("held", "schedule", "allowed"),
    [
        pytest.param(registration(), "CII", True, id="full-registration-CII"),
        pytest.param(registration(), "CV", True, id="full-registration-CV"),
        pytest.param(registration(frozenset({"2"})), "CII", False, id="CII-narcotic-half-only"),
        pytest.param(registration(frozenset({"2N"})), "CII", False, id="CII-non-narcotic-only"),
        pytest.param(registration(frozenset({"2", "2N"})), "CII", True, id="CII-both-halves"),
        pytest.param(registration(frozenset({"3"})), "CIII", False, id="CIII-one-half"),
        pytest.param(registration(frozenset({"3", "3N"})), "CIII", True, id="CIII-both-halves"),
        pytest.param(registration(frozenset({"4"})), "CIV", True, id="CIV"),
        pytest.param(registration(frozenset({"4"})), "CV", False, id="CV-not-listed"),
        pytest.param(registration(frozenset({"3", "3N", "4", "5"})), "CII", False, id="no-2"),
        pytest.param(registration(schedule_ii=False), "CII", False, id="CII-without-csos"),
        pytest.param(registration(schedule_ii=False), "CIII", True, id="CIII-without-csos"),
        pytest.param(registration(expires_on=date(2026, 5, 31)), "CIV", False, id="expired"),
        pytest.param(registration(expires_on=TODAY), "CIV", True, id="expires-today"),
        pytest.param(registration(expires_on=None), "CIV", False, id="no-expiry-known"),
        pytest.param(registration(active=False), "CIV", False, id="inactive"),
        pytest.param(registration(), "CI", False, id="schedule-I-never"),
        pytest.param(None, "CV", False, id="no-registration"),
    ],
)
def test_a_registration_covers_what_it_lists_while_active(
    held: Registration | None, schedule: str, allowed: bool
) -> None:
    lines = {"p-1": schedule}
    if allowed:
        check(lines, held, TODAY)
        return
    with pytest.raises(ControlledSubstanceNotAllowed) as refused:
        check(lines, held, TODAY)
    assert refused.value.status == 403
    assert refused.value.code == "controlled_substance_not_allowed"
    assert refused.value.extensions["items"] == [{"product_id": "p-1", "dea_schedule": schedule}]


def test_unscheduled_products_need_no_registration_and_only_the_scheduled_are_named() -> None:
    check({"a": None, "b": None}, None, TODAY)
    with pytest.raises(ControlledSubstanceNotAllowed) as refused:
        check({"c": "CIV", "a": None, "b": "CII"}, registration(frozenset({"4"})), TODAY)
    assert refused.value.extensions["product_ids"] == ["b"]
    assert refused.value.extensions["items"] == [{"product_id": "b", "dea_schedule": "CII"}]
