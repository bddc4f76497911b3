"""How much one cart may hold of a product: by the caller's kind and account segment."""

import pytest

from orderly.config import load_settings
from orderly.kernel.principal import Principal
from orderly.ordering.policy import HoldLimits


def caller(account: str | None = None, segment: str | None = None) -> Principal:
    return Principal("u-1", "s-1", ("buyer",), account=account, segment=segment)


@pytest.mark.parametrize(
    ("who", "limit"),
    [
        pytest.param(caller(), 7, id="consumer"),
        pytest.param(caller("PH-12345", "chain"), 900, id="listed-segment"),
        pytest.param(caller("PH-12345", "clinic"), 7, id="unlisted-segment"),
        pytest.param(caller("PH-12345"), 7, id="no-segment-claim"),
        pytest.param(caller(None, "chain"), 7, id="segment-without-account"),
    ],
)
def test_a_b2b_member_holds_by_its_segment_anyone_else_as_a_consumer(
    who: Principal, limit: int
) -> None:
    settings = load_settings(
        {"ORDERLY_SOFT_HOLD_LIMIT": "7", "ORDERLY_SOFT_HOLD_LIMITS": "independent:50, chain:900"}
    )
    limits = HoldLimits(settings.soft_hold_limit, settings.hold_limits())
    assert limits.of(who) == limit
