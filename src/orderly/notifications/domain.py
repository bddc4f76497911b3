"""What becomes of a mail: whether it is written at all, its first status, and after a failed
try, when to try again."""

from dataclasses import dataclass
from enum import StrEnum


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    UNSENT = "unsent"  # no SMTP server is configured: kept in the log, never sent
    SKIPPED = "skipped"  # its customer turned this kind of mail off: kept in the log, never sent


class Kind(StrEnum):
    """What a mail tells. The optional ones a customer may turn off; the others always go."""

    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


OPTIONAL = (Kind.SHIPPED, Kind.DELIVERED)


def first_status(smtp_configured: bool, wanted: bool = True) -> MailStatus:
    if not wanted:
        return MailStatus.SKIPPED
    return MailStatus.QUEUED if smtp_configured else MailStatus.UNSENT


def wanted(kind: Kind, turned_off: frozenset[str]) -> bool:
    """Whether a mail of `kind` goes to a customer who turned off `turned_off`: a mail that
    is not optional always does."""
    return kind not in OPTIONAL or kind.value not in turned_off


# What a cancelled mail may say of why. Any other reason (a suspicious order reported by
# compliance, a saga's technical step) is not told: the mail says only that it was cancelled.
_CANCELLATION_REASONS = {
    "insufficient_inventory": "Some of its items were not in stock.",
    "payment_failed": "Its payment could not be taken.",
}


def cancellation_reason(reason: str) -> str:
    """A sentence the customer may read for `reason`; empty when none is told."""
    return _CANCELLATION_REASONS.get(reason, "")


@dataclass(frozen=True)
class Backoff:
    """Tries after the first (`retries`), `base` seconds apart and doubling, up to `cap`."""

    retries: int
    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int, permanent: bool, jitter: float) -> float | None:
        """Seconds until the next try after `attempts` tries failed, the last one for good
        (`permanent`: the server refused the mail itself) or not; None: give up. `jitter` in
        [0, 1) spreads tries that failed together (half to all of the delay)."""
        if permanent or attempts > self.retries:
            return None
        full = min(self.cap, self.base * 2.0 ** (attempts - 1))
        return full * (0.5 + jitter / 2)
