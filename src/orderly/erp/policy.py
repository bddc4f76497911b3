"""What the deployment's settings decide for the ERP context."""

from dataclasses import dataclass

from orderly.config import Settings

# the first pause before a failed call is tried again; it doubles each try
BACKOFF = 0.2
# seconds a claim outlives the longest a call can take (storing its outcome, a pause)
LEASE_MARGIN = 5.0


@dataclass(frozen=True)
class ErpPolicy:
    url: str
    timeout: float
    retries: int
    # requests called at once by one process
    concurrency: int
    backoff: float = BACKOFF

    @property
    def lease(self) -> float:
        """Seconds a claimed request is left to its caller: longer than every try and pause
        of one call, so that only a caller that crashed loses its claim. The margin can be
        short: a call made twice carries the same `Repeatability-Request-ID`, and the ERP
        makes one sales order of it."""
        pauses = self.backoff * (float(2**self.retries) - 1)
        return self.timeout * (self.retries + 1) + pauses + LEASE_MARGIN


def policy(settings: Settings) -> ErpPolicy:
    return ErpPolicy(
        url=settings.erp_url,
        timeout=settings.erp_timeout,
        retries=settings.erp_retries,
        concurrency=settings.erp_concurrency,
    )
