"""The mixed load, as Orderly's users make it: direct orders, paid shop checkouts, guarded
checkouts, pharmacies' orders on account, cancellations, and orders driven through the
warehouse to delivery. Every order carries its attempt's id (as its Idempotency-Key and in its
shipping address), and a call that fails for want of an answer (a dropped connection, a 5xx,
a key still in use) is sent again with the same key, as a careful client does, so that the
checks can tell an order lost or made twice from one refused."""

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.deployment import Deployment
from orderly.demo import DEMO_PHARMACY_ADDRESS

# held: a pharmacy's first orders of a controlled drug family, which suspicious order
# monitoring holds for an analyst
KINDS = {"direct": 5, "b2c": 5, "guarded": 3, "b2b": 3, "cancel": 2, "fulfil": 2, "held": 1}
SHOP_ADDRESS = {
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
RETRY_FOR = 90.0  # seconds a call is sent again while it gets no answer
TRANSIENT = {500, 502, 503, 504}


@dataclass
class Attempt:
    id: str
    kind: str
    outcome: str = "unknown"  # accepted, refused, or unknown (no answer came)
    status: int = 0
    order_id: str = ""
    tries: int = 0
    detail: str = ""
    seconds: float = 0.0  # from the first try to the last step of its kind (delivered, say)
    # each try of its calls: "POST ordering-2 409 5.0s" (the status, or the error's name)
    tries_made: list[str] = field(default_factory=list)


@dataclass
class Cast:
    ops: str  # tokens
    customer: str
    pharmacist: str
    products: list[str] = field(default_factory=list)
    controlled: str = ""  # a schedule IV product, for the orders monitoring holds
    stock: dict[str, int] = field(default_factory=dict)  # what each product was received with


class Load:
    def __init__(self, deployment: Deployment, cast: Cast, seed: int) -> None:
        self.deployment = deployment
        self.cast = cast
        self.rng = random.Random(seed)
        self.attempts: list[Attempt] = []
        self.followups: Counter[str] = Counter()  # cancellations, shipments, deliveries made
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, concurrency: int, stop: asyncio.Event) -> None:
        """Orders from `concurrency` users at once, each placing its next as soon as its last
        is answered, until `stop`."""
        kinds, weights = list(KINDS), list(KINDS.values())

        async def user() -> None:
            while not stop.is_set():
                kind = self.rng.choices(kinds, weights)[0]
                product = self.rng.choice(self.cast.products)
                await self.one(kind, self.cast.controlled if kind == "held" else product)

        # one held order at least in every run, so that the holds' check has holds to see
        await self.one("held", self.cast.controlled)
        await asyncio.gather(*(user() for _ in range(concurrency)))

    async def one(self, kind: str, product: str) -> None:
        attempt = Attempt(str(uuid.uuid4()), kind)
        self.attempts.append(attempt)
        began = asyncio.get_running_loop().time()
        try:
            await self._play(attempt, product)
        finally:
            attempt.seconds = asyncio.get_running_loop().time() - began

    async def _play(self, attempt: Attempt, product: str) -> None:
        kind = attempt.kind
        quantity = 1 + self.rng.randrange(3)
        pharmacy = kind in {"b2b", "held"}
        token = self.cast.pharmacist if pharmacy else self.cast.customer
        # a pharmacy's orders go to its DEA-registered address (its controlled ones must)
        address = DEMO_PHARMACY_ADDRESS if pharmacy else SHOP_ADDRESS
        body: dict[str, Any] = {
            "items": [{"product_id": product, "quantity": quantity}],
            "shipping_address": {**address, "line2": f"chaos:{attempt.id}"},
        }
        card = "tok_decline" if self.rng.random() < 0.1 else "tok_visa"
        if kind in {"direct", "fulfil"}:
            body["channel"] = "direct"
        elif kind in {"b2c", "cancel"}:
            body |= {"channel": "b2c", "payment_method": card if kind == "b2c" else "tok_visa"}
        elif kind == "guarded":
            body |= {"channel": "guarded", "payment_method": card}
        await self._place(attempt, body, token)
        if attempt.outcome != "accepted":
            return
        if kind == "cancel":
            await self._cancel(attempt)
        elif kind == "fulfil":
            await self._deliver(attempt)

    def _ordering(self) -> str:
        return self.deployment.url(self.rng.choice(("ordering", "ordering-2")))

    async def _call(
        self,
        method: str,
        url: str,
        token: str,
        *,
        key: str = "",
        json: Any = None,
        attempt: Attempt | None = None,
    ) -> httpx.Response | None:
        """The answer, once one comes that is not a transient failure; None if none did.
        Each try is noted on `attempt`, if given."""
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR
        pause = 0.1
        while True:
            sent = loop.time()
            outcome = ""
            try:
                answer = await self.http.request(method, url, headers=headers, json=json)
                outcome = str(answer.status_code)
                if answer.status_code not in TRANSIENT and not _in_use(answer):
                    return answer
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            finally:
                if attempt is not None:
                    took = loop.time() - sent
                    attempt.tries_made.append(
                        f"{method} {self.deployment.process_at(url)} {outcome} {took:.1f}s"
                    )
            if loop.time() > deadline:
                return None
            await asyncio.sleep(pause)  # a backoff between tries, not a wait for a state
            pause = min(pause * 2, 2.0)

    async def _place(self, attempt: Attempt, body: dict[str, Any], token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR
        while True:
            attempt.tries += 1
            url = f"{self._ordering()}/api/v1/orders"
            answer = await self._call(
                "POST", url, token, key=attempt.id, json=body, attempt=attempt
            )
            if answer is None:
                return  # unknown: the checks find out whether it was made, and only once
            attempt.status = answer.status_code
            found = _json(answer)
            unknown = answer.status_code == 422 and found.get("code") == "unknown_product"
            if unknown and loop.time() < deadline:  # ordering has not heard of it yet
                await asyncio.sleep(0.2)
                continue
            if found.get("order_id"):
                attempt.outcome, attempt.order_id = "accepted", str(found["order_id"])
            else:
                attempt.outcome, attempt.detail = "refused", str(found.get("code", ""))
            return

    async def _cancel(self, attempt: Attempt) -> None:
        url = f"{self._ordering()}/api/v1/orders/{attempt.order_id}/cancel"
        answer = await self._call("POST", url, self.cast.customer)
        if answer is not None and answer.status_code == 200:
            self.followups["cancelled"] += 1

    async def _deliver(self, attempt: Attempt) -> None:
        """The warehouse ships the order and the carrier delivers it, if its shipment comes
        within the retry window."""
        fulfillment = self.deployment.url("fulfillment")
        ops = self.cast.ops
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR
        shipment: dict[str, Any] | None = None
        while shipment is None and loop.time() < deadline:
            found = await self._call(
                "GET", f"{fulfillment}/api/v1/shipments?order_id={attempt.order_id}", ops
            )
            shipments = _json_list(found)
            if shipments:
                shipment = shipments[0]
            else:
                await asyncio.sleep(0.5)  # a poll for the shipment, bounded by the deadline
        if shipment is None:
            return
        tracking = {"tracking_number": f"TRK{attempt.id[:9].upper()}", "carrier": "UPS"}
        base = f"{fulfillment}/api/v1/shipments/{shipment['id']}"
        shipped = await self._call("POST", f"{base}/ship", ops, json=tracking)
        if shipped is None or shipped.status_code != 200:
            return
        self.followups["shipped"] += 1
        delivered = await self._call(
            "POST", f"{base}/deliver", ops, json={"delivery_location": "Front door"}
        )
        if delivered is not None and delivered.status_code == 200:
            self.followups["delivered"] += 1


def _in_use(answer: httpx.Response) -> bool:
    return answer.status_code == 409 and _json(answer).get("code") == "idempotency_key_in_use"


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _json_list(answer: httpx.Response | None) -> list[dict[str, Any]]:
    if answer is None or answer.status_code != 200:
        return []
    try:
        found = answer.json()
    except ValueError:
        return []
    return found if isinstance(found, list) else []
