"""What the deployment's settings decide for the ERP context."""

from dataclasses import dataclass

from orderly.config import Settings

# the first pause before a failed call is tried again; it doubles each try
BACKOFF = 0.2
# requests called at once by one process
CONCURRENCY = 64


@dataclass(frozen=True)
class ErpPolicy:
    url: str
    timeout: float
    retries: int
    backoff: float = BACKOFF
    concurrency: int = CONCURRENCY

    @property
    def lease(self) -> float:
        """Seconds a claimed request is left to its caller: longer than every try and pause
        of one call, so that only a caller that crashed loses its claim."""
        pauses = self.backoff * (float(2**self.retries) - 1)
        return self.timeout * (self.retries + 1) + pauses + 30.0


def policy(settings: Settings) -> ErpPolicy:
    return ErpPolicy(
        url=settings.erp_url, timeout=settings.erp_timeout, retries=settings.erp_retries
    )
