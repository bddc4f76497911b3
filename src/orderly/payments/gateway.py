"""The port to a payment gateway, and the simulated gateway Orderly runs with by default.

Every call carries an idempotency key: a call repeated with the same key (a handler tried
again after its transaction failed) answers what the first did and moves no money twice.
"""

from dataclasses import dataclass
from typing import Protocol

from orderly.config import Settings
from orderly.kernel.ids import new_id


class GatewayTimeout(Exception):
    """The gateway did not answer in time: the outcome is unknown."""


class GatewayError(Exception):
    """The gateway failed (a 5xx): nothing happened."""


@dataclass(frozen=True)
class Outcome:
    approved: bool
    reference: str = ""
    reason: str = ""


class PaymentGateway(Protocol):
    async def authorize(self, token: str, cents: int, currency: str, *, key: str) -> Outcome: ...

    async def capture(self, reference: str, cents: int, *, key: str) -> Outcome: ...

    async def void(self, reference: str, *, key: str) -> Outcome: ...

    async def refund(self, reference: str, cents: int, *, key: str) -> Outcome: ...


class SimulatedGateway:
    """Behaves as its token says: `tok_decline` is declined, `tok_timeout` times out,
    `tok_error` fails, any other `tok_…` is approved. It keeps what it answered per
    idempotency key, and the money it holds per authorisation, so tests can check that
    nothing was charged twice."""

    def __init__(self) -> None:
        self._answers: dict[str, Outcome] = {}
        self.captured: dict[str, int] = {}
        self.refunded: dict[str, int] = {}
        self._tokens: dict[str, str] = {}

    def _once(self, key: str, outcome: Outcome) -> Outcome:
        return self._answers.setdefault(key, outcome)

    async def authorize(self, token: str, cents: int, currency: str, *, key: str) -> Outcome:
        if key in self._answers:
            return self._answers[key]
        if token == "tok_timeout":
            raise GatewayTimeout("the simulated gateway did not answer")
        if token == "tok_error":
            raise GatewayError("the simulated gateway failed")
        if token == "tok_decline":
            return self._once(key, Outcome(False, reason="card_declined"))
        reference = f"auth_{new_id()}"
        self._tokens[reference] = token
        return self._once(key, Outcome(True, reference))

    async def capture(self, reference: str, cents: int, *, key: str) -> Outcome:
        if key not in self._answers:
            self.captured[reference] = self.captured.get(reference, 0) + cents
        return self._once(key, Outcome(True, reference))

    async def void(self, reference: str, *, key: str) -> Outcome:
        return self._once(key, Outcome(True, reference))

    async def refund(self, reference: str, cents: int, *, key: str) -> Outcome:
        if key not in self._answers:
            self.refunded[reference] = self.refunded.get(reference, 0) + cents
        return self._once(key, Outcome(True, f"re_{new_id()}"))


def gateway_for(settings: Settings) -> PaymentGateway:
    """The gateway a process charges through: one of its own, the simulated one (no
    setting names another yet)."""
    return SimulatedGateway()
