"""Identity rules: DEA registration numbers, account data, passwords."""

from datetime import date

import pytest

from orderly.identity.domain import (
    InvalidAccount,
    WeakPassword,
    check_account,
    check_password,
    client_key,
    dea_active,
    dea_number_valid,
)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        pytest.param("AP5836727", True, id="worked-example"),
        pytest.param("BP1234563", True, id="fixture"),
        pytest.param("AB4523767", False, id="bad-check-digit"),
        pytest.param("A95836727", True, id="nine-may-stand-second"),
        pytest.param("A85836727", False, id="other-digit-second"),
        pytest.param("AP583672", False, id="too-short"),
        pytest.param("ap5836727", False, id="lower-case"),
        pytest.param("1P5836727", False, id="digit-first"),
    ],
)
def test_dea_numbers_are_checked_by_shape_and_check_digit(number: str, valid: bool) -> None:
    assert dea_number_valid(number) is valid


def test_account_data_is_checked() -> None:
    check_account("PH-45678", "AP5836727", ["2", "2N", "3"], "2027-12-31")
    for account_id, dea, schedules, expiry in [
        ("45678", "AP5836727", [], "2027-12-31"),
        ("PH-45678", "AB4523767", [], "2027-12-31"),
        ("PH-45678", "AP5836727", ["1"], "2027-12-31"),
        ("PH-45678", "AP5836727", [], "31/12/2027"),
    ]:
        with pytest.raises(InvalidAccount):
            check_account(account_id, dea, schedules, expiry)


def test_a_registration_is_active_through_its_expiry_day() -> None:
    assert dea_active("2027-12-31", date(2027, 12, 31))
    assert not dea_active("2027-12-31", date(2028, 1, 1))


@pytest.mark.parametrize(
    "password",
    ["short", "qwertyuiop", "aaaaaaaaaaaa", "jane.doe-secret-99"],
    ids=["too-short", "common", "too-simple", "contains-email"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password(password, email="jane.doe@example.com")


@pytest.mark.parametrize(
    ("host", "key"),
    [
        pytest.param("203.0.113.7", "203.0.113.7", id="ipv4"),
        pytest.param("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64", id="ipv6-by-64"),
        pytest.param("2001:db8:1:2::1", "2001:db8:1:2::/64", id="same-64-same-key"),
        pytest.param("::ffff:203.0.113.7", "203.0.113.7", id="ipv4-mapped"),
        pytest.param("", "-", id="none"),
        pytest.param("testclient", "testclient", id="not-an-address"),
    ],
)
def test_throttling_counts_an_ipv6_subscriber_by_its_64(host: str, key: str) -> None:
    assert client_key(host) == key
