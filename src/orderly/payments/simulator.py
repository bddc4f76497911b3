"""A simulated card gateway (`orderly payments-sim`), in memory, with faults switched over
HTTP, so that a deployment's payments outlive its processes and can be counted.

Every money call carries an `Idempotency-Key` (400 without one). POST {AUTHORIZATIONS}
(`token`, `amount_cents`, `currency`) authorises: approved with a reference, or declined
(`tok_decline`: `card_declined`); `tok_error` fails (500) and `tok_timeout` is never answered,
both doing nothing. POST {AUTHORIZATIONS}/{reference}/capture (`amount_cents`), /void and
/refunds (`amount_cents`) move the money of an authorisation (404 if it never was; 409 for a
capture or refund after a void, or a void after a capture). Every answer is 200
`{approved, reference, reason}` or a problem+json. A call repeated with a key seen before
answers what the first did and moves nothing; the key sent with another call is refused (409
`idempotency_key_reused`). Amounts are not checked against one another, so that anything
taken or given back twice shows in GET /sim/movements: each movement made, in order, and the
totals of each reference.

POST /sim/faults sets `latency_ms` (added to every money call) and a `mode` for the next
`times` money calls (null: until changed): `ok`; `error`, a 503 that does nothing; `timeout`,
which does what was asked and then withholds the answer, as a gateway that times out leaves
its caller not knowing. POST /sim/reset forgets everything.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderly.kernel.errors import problem
from orderly.kernel.faults import SimulatorFaults as Faults
from orderly.kernel.ids import new_id
from orderly.payments.gateway import AUTHORIZATIONS, KEY_HEADER

MODES = ("ok", "timeout", "error")
# how long a `timeout` call (or `tok_timeout`) holds its answer: longer than any client waits
WITHHELD_SECONDS = 300.0
PROBLEM_JSON = "application/problem+json"


@dataclass
class Authorization:
    reference: str
    cents: int
    currency: str
    captured: int = 0
    refunded: int = 0
    captures: int = 0
    refunds: int = 0
    voided: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "authorized": self.cents,
            "captured": self.captured,
            "refunded": self.refunded,
            "voided": self.voided,
            "captures": self.captures,
            "refunds": self.refunds,
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Answer:
    call: tuple[Any, ...]  # what was asked with the key
    status: int
    body: dict[str, Any]


class Refused(Exception):
    """A call the gateway answers with a problem, having done nothing."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass
class Ledger:
    """The gateway's authorisations, the money moved on them, and the answer to each key."""

    faults: Faults = field(default_factory=Faults)
    authorizations: dict[str, Authorization] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)

    def replay(self, key: str, call: tuple[Any, ...]) -> Answer | None:
        """The answer the key had, if it was sent before (with this same call)."""
        answer = self.answers.get(key)
        if answer is not None and answer.call != call:
            detail = f"the key was first sent with another call ({answer.call[0]})"
            raise Refused(409, "idempotency_key_reused", detail)
        return answer

    def answer(self, key: str, call: tuple[Any, ...], body: dict[str, Any]) -> Answer:
        self.answers[key] = Answer(call, 200, body)
        return self.answers[key]

    def move(self, kind: str, auth: Authorization, cents: int, key: str) -> None:
        self.movements.append(
            {
                "seq": len(self.movements) + 1,
                "kind": kind,
                "reference": auth.reference,
                "cents": cents,
                "currency": auth.currency,
                "key": key,
            }
        )

    def authorize(self, key: str, call: tuple[Any, ...], token: str) -> Answer:
        _, cents, currency = call
        if token == "tok_decline":
            return self.answer(key, call, _outcome(False, reason="card_declined"))
        auth = Authorization(f"auth_{new_id()}", cents, currency)
        self.authorizations[auth.reference] = auth
        self.move("authorize", auth, cents, key)
        return self.answer(key, call, _outcome(True, auth.reference))

    def capture(self, key: str, call: tuple[Any, ...]) -> Answer:
        _, reference, cents = call
        auth = self._open(reference, "captured")
        auth.captured, auth.captures = auth.captured + cents, auth.captures + 1
        self.move("capture", auth, cents, key)
        return self.answer(key, call, _outcome(True, reference))

    def void(self, key: str, call: tuple[Any, ...]) -> Answer:
        _, reference = call
        auth = self._open(reference, "voided")
        if auth.captures:
            raise Refused(409, "already_captured", f"{reference} was captured: refund it")
        auth.voided = True
        self.move("void", auth, auth.cents, key)
        return self.answer(key, call, _outcome(True, reference))

    def refund(self, key: str, call: tuple[Any, ...]) -> Answer:
        _, reference, cents = call
        auth = self._open(reference, "refunded")
        auth.refunded, auth.refunds = auth.refunded + cents, auth.refunds + 1
        self.move("refund", auth, cents, key)
        return self.answer(key, call, _outcome(True, f"re_{new_id()}"))

    def _open(self, reference: str, done: str) -> Authorization:
        auth = self.authorizations.get(reference)
        if auth is None:
            raise Refused(404, "unknown_reference", f"no authorisation {reference}")
        if auth.voided:
            raise Refused(409, "voided", f"{reference} was voided: it cannot be {done}")
        return auth

    def view(self, reference: str | None) -> dict[str, Any]:
        movements = [m for m in self.movements if reference in (None, m["reference"])]
        totals = {
            ref: auth.view()
            for ref, auth in self.authorizations.items()
            if reference in (None, ref)
        }
        return {"movements": movements, "references": totals}


def _outcome(approved: bool, reference: str = "", reason: str = "") -> dict[str, Any]:
    return {"approved": approved, "reference": reference or None, "reason": reason or None}


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    title = code.replace("_", " ").capitalize()
    body = problem(status, code, title, detail)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _cents(body: dict[str, Any], name: str = "amount_cents") -> int:
    cents = body.get(name)
    if not isinstance(cents, int) or isinstance(cents, bool) or cents <= 0:
        raise Refused(422, "invalid_request", f"{name} is a positive whole number of cents")
    return cents


def _call(kind: str, body: dict[str, Any], reference: str) -> tuple[Any, ...]:
    """What a money call asks, from its body: compared when its key is sent again."""
    if kind == "authorize":
        currency = body.get("currency")
        if not isinstance(body.get("token"), str) or not isinstance(currency, str):
            raise Refused(422, "invalid_request", "token and currency are strings")
        return (kind, _cents(body), currency)
    if kind == "void":
        return (kind, reference)
    return (kind, reference, _cents(body))


def app() -> Starlette:
    ledger = Ledger()

    async def money(request: Request, kind: str) -> JSONResponse:
        """One money call: checked, faulted, replayed or done, and answered (or not)."""
        key = request.headers.get(KEY_HEADER, "")
        if not key:
            return _problem(400, "idempotency_key_required", f"every call needs {KEY_HEADER}")
        try:
            body = await _body(request)
            call = _call(kind, body, request.path_params.get("reference", ""))
        except Refused as refused:
            return _problem(refused.status, refused.code, refused.detail)
        mode = ledger.faults.next_mode()
        if ledger.faults.latency_ms:
            await asyncio.sleep(ledger.faults.latency_ms / 1000)
        if mode == "error":
            return _problem(503, "gateway_unavailable", "simulated gateway outage")
        # from here to the answer kept, nothing awaits: a key sent twice at once is done once
        try:
            answer = ledger.replay(key, call)
            replayed = answer is not None
            if answer is None:
                token = str(body.get("token", "")) if kind == "authorize" else ""
                if token in ("tok_timeout", "tok_error"):
                    return await _unanswered(token)
                answer = _do(ledger, kind, key, call, token)
        except Refused as refused:
            return _problem(refused.status, refused.code, refused.detail)
        if mode == "timeout":
            await asyncio.sleep(WITHHELD_SECONDS)
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    async def authorize(request: Request) -> JSONResponse:
        return await money(request, "authorize")

    async def capture(request: Request) -> JSONResponse:
        return await money(request, "capture")

    async def void(request: Request) -> JSONResponse:
        return await money(request, "void")

    async def refund(request: Request) -> JSONResponse:
        return await money(request, "refund")

    async def set_faults(request: Request) -> JSONResponse:
        try:
            ledger.faults = _faults(await _body(request))
        except Refused as refused:
            return _problem(refused.status, refused.code, refused.detail)
        return JSONResponse(ledger.faults.view())

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(ledger.faults.view())

    async def movements(request: Request) -> JSONResponse:
        return JSONResponse(ledger.view(request.query_params.get("reference")))

    async def reset(request: Request) -> JSONResponse:
        nonlocal ledger
        ledger = Ledger()
        return JSONResponse({"reset": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    on = AUTHORIZATIONS + "/{reference}"
    return Starlette(
        routes=[
            Route(AUTHORIZATIONS, authorize, methods=["POST"]),
            Route(on + "/capture", capture, methods=["POST"]),
            Route(on + "/void", void, methods=["POST"]),
            Route(on + "/refunds", refund, methods=["POST"]),
            Route("/sim/faults", set_faults, methods=["POST"]),
            Route("/sim/faults", get_faults, methods=["GET"]),
            Route("/sim/movements", movements, methods=["GET"]),
            Route("/sim/reset", reset, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def _do(ledger: Ledger, kind: str, key: str, call: tuple[Any, ...], token: str) -> Answer:
    if kind == "authorize":
        return ledger.authorize(key, call, token)
    if kind == "capture":
        return ledger.capture(key, call)
    if kind == "void":
        return ledger.void(key, call)
    return ledger.refund(key, call)


async def _unanswered(token: str) -> JSONResponse:
    """`tok_error` fails and `tok_timeout` hangs, both having done nothing (nor kept an
    answer: each try fails again)."""
    if token == "tok_timeout":
        await asyncio.sleep(WITHHELD_SECONDS)
    return _problem(500, "processor_error", "the card's processor failed")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused(422, "invalid_request", "the body is a JSON object")
    return body


def _faults(body: dict[str, Any]) -> Faults:
    mode, times, latency = body.get("mode", "ok"), body.get("times"), body.get("latency_ms", 0)
    if mode not in MODES or not isinstance(latency, int) or latency < 0:
        raise Refused(422, "invalid_faults", f"mode is one of {MODES}, latency_ms >= 0")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise Refused(422, "invalid_faults", "times is a positive count or null")
    return Faults(latency_ms=latency, mode=mode, times=times)


def serve(host: str, port: int) -> None:
    import uvicorn

    # a withheld answer must not hold up the simulator's own shutdown
    uvicorn.run(app(), host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
