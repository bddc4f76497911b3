"""What becomes of a mail: its first status, and after a failed try, when to try again."""

from dataclasses import dataclass
from enum import StrEnum


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    UNSENT = "unsent"  # no SMTP server is configured: kept in the log, never sent


def first_status(smtp_configured: bool) -> MailStatus:
    return MailStatus.QUEUED if smtp_configured else MailStatus.UNSENT


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
