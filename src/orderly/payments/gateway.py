"""The port to a payment gateway; the simulated gateway Orderly runs with by default, and the
card gateway over HTTP (`orderly payments-sim` serves a simulated one).

Every call carries an idempotency key: a call repeated with the same key (a handler tried
again after its transaction failed) answers what the first did and moves no money twice.
"""

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from orderly.config import Settings
from orderly.kernel.ids import new_id
from orderly.web.clients import REPEATABLE, service_client

# The card gateway's HTTP API, as `HttpGateway` calls it and `payments/simulator.py` serves it.
KEY_HEADER = "Idempotency-Key"
AUTHORIZATIONS = "/v1/authorizations"


class GatewayTimeout(Exception):
    """The gateway did not answer in time: the outcome is unknown."""


class GatewayError(Exception):
    """The gateway failed or refused the call (a 5xx or a 4xx, or it could not be reached):
    nothing happened."""


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


class HttpGateway:
    """A card gateway over HTTP, each call with its idempotency key in `Idempotency-Key`, so
    that one sent again is safe. A call the gateway got but did not answer within `timeout`
    seconds (or whose connection broke before its answer) raises `GatewayTimeout`, its
    outcome unknown; one it failed (5xx), refused (4xx) or could not be sent raises
    `GatewayError`. It does not try again itself: the caller decides what an unknown outcome
    means."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # made on first use (a client costs 15 ms of CPU): every process wires payments, and
        # most never charge
        if self._client is None:
            self._client = service_client(self.base_url, self.timeout)
        return self._client

    async def authorize(self, token: str, cents: int, currency: str, *, key: str) -> Outcome:
        body = {"token": token, "amount_cents": cents, "currency": currency}
        return await self._call(AUTHORIZATIONS, body, key)

    async def capture(self, reference: str, cents: int, *, key: str) -> Outcome:
        return await self._call(_on(reference, "capture"), {"amount_cents": cents}, key)

    async def void(self, reference: str, *, key: str) -> Outcome:
        return await self._call(_on(reference, "void"), {}, key)

    async def refund(self, reference: str, cents: int, *, key: str) -> Outcome:
        return await self._call(_on(reference, "refunds"), {"amount_cents": cents}, key)

    async def _call(self, path: str, body: dict[str, Any], key: str) -> Outcome:
        try:
            # sent again once on a fresh connection if a kept-alive one was found closed: the
            # key makes it safe
            answer = await self._http().post(
                path, json=body, headers={KEY_HEADER: key}, extensions=REPEATABLE
            )
        except _NOT_SENT as error:
            raise GatewayError(
                f"the gateway could not be reached ({type(error).__name__})"
            ) from None
        except httpx.HTTPError as error:  # sent, but no answer came (or none could be read)
            raise GatewayTimeout(f"the gateway did not answer ({type(error).__name__})") from None
        if answer.status_code >= 400:
            raise GatewayError(f"the gateway answered HTTP {answer.status_code}{_code(answer)}")
        return _outcome(answer)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# failures of a call that never reached the gateway
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _on(reference: str, action: str) -> str:
    return f"{AUTHORIZATIONS}/{quote(reference, safe='')}/{action}"


def _code(answer: httpx.Response) -> str:
    """The problem's `code`, if the answer is one."""
    try:
        code = answer.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f" ({str(code)[:80]})" if code else ""


def _outcome(answer: httpx.Response) -> Outcome:
    """The outcome a 2xx answer carries; one that carries none leaves it unknown."""
    try:
        body = answer.json()
        return Outcome(
            approved=body["approved"] is True,
            reference=str(body.get("reference") or ""),
            reason=str(body.get("reason") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise GatewayTimeout("the gateway answered without an outcome") from None


def gateway_for(settings: Settings) -> PaymentGateway:
    """The gateway a process charges through: the card gateway at `payment_gateway_url`, or
    without one a simulated gateway of its own."""
    if settings.payment_gateway_url:
        return HttpGateway(settings.payment_gateway_url, settings.payment_gateway_timeout)
    return SimulatedGateway()
