"""Each call a BFF makes to a context: a timeout, a breaker per context (over HTTP), the
test switch's delay, and a count per context."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from prometheus_client import Counter
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from orderly.bff.port import ContextUnavailable, Refused
from orderly.kernel import faults
from orderly.observability import BREAKER_OPEN

T = TypeVar("T")

log = structlog.get_logger(__name__)

CALLS = Counter("orderly_bff_calls_total", "Calls a BFF made to a context", ["context"])


class Calls:
    """Runs a BFF's calls to the contexts. With `breakers`, after `threshold` failures in a
    row a context is not called for `ttl` seconds (its parts answered unavailable at once),
    then one call is let through to see."""

    def __init__(
        self,
        timeout: float,
        *,
        command_timeout: float = 30.0,
        threshold: int = 0,
        ttl: float = 10.0,
    ) -> None:
        self.timeout = timeout
        # a command may wait for its outcome (a guarded checkout waits for its saga): cut
        # short, it would be answered as failed when it may have been done
        self.command_timeout = max(command_timeout, timeout)
        self.breakers: AsyncCircuitBreakerFactory | None = None
        if threshold:
            # a context's refusal (4xx) is an answer, not a failure
            self.breakers = AsyncCircuitBreakerFactory(threshold, ttl, exclude=[Refused])
            self.breakers.add_listener(_heard)

    async def run(
        self, context: str, call: Callable[[], Awaitable[T]], *, command: bool = False
    ) -> T:
        CALLS.labels(context).inc()
        timeout = self.command_timeout if command else self.timeout
        if self.breakers is None:
            return await self._timed(context, call, timeout)
        try:
            async with await self.breakers.get_breaker(context):
                return await self._timed(context, call, timeout)
        except OpenedState:
            raise ContextUnavailable(context, "its breaker is open") from None

    async def _timed(self, context: str, call: Callable[[], Awaitable[T]], seconds: float) -> T:
        try:
            async with asyncio.timeout(seconds):
                delay = faults.delay_of(context)
                if delay:
                    await asyncio.sleep(delay)
                return await call()
        except TimeoutError:
            raise ContextUnavailable(context, f"no answer within {seconds:g} s") from None


def _heard(name: str, event_name: str, event: Any) -> None:
    if event_name == "state_changed":
        state = str(event.state)
        BREAKER_OPEN.labels(f"bff:{name}").set(0 if state == "closed" else 1)
        log.warning("circuit breaker", circuit=f"bff:{name}", state=state)
