"""When a refused mail is tried again, and when it is given up."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.notifications.domain import Backoff, MailStatus, first_status


def test_a_mail_is_queued_only_when_a_server_is_configured() -> None:
    assert first_status(smtp_configured=True) is MailStatus.QUEUED
    assert first_status(smtp_configured=False) is MailStatus.UNSENT


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)],
    ids=["first", "second", "third", "fifth"],
)
def test_tries_double_apart(attempts: int, expected: float) -> None:
    assert Backoff(retries=5).delay(attempts, permanent=False, jitter=0.999999) == pytest.approx(
        expected
    )


def test_a_mail_is_given_up_after_its_retries_or_a_permanent_refusal() -> None:
    backoff = Backoff(retries=2)
    assert backoff.delay(2, permanent=False, jitter=0.0) is not None
    assert backoff.delay(3, permanent=False, jitter=0.0) is None
    assert backoff.delay(1, permanent=True, jitter=0.0) is None


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=0.999))
def test_a_delay_stays_between_half_and_all_of_its_capped_step(
    attempts: int, jitter: float
) -> None:
    backoff = Backoff(retries=1000, base=1.0, cap=300.0)
    delay = backoff.delay(attempts, permanent=False, jitter=jitter)
    assert delay is not None
    full = min(300.0, 2.0 ** (attempts - 1))
    assert full / 2 <= delay <= full
