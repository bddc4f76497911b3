"""Ordering without a server: fakes of the ports it asks before an order exists, and a bus
that hands messages to ordering's consumers as a running process would (through the inbox,
one transaction each), on a real, migrated database."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from orderly.config import Settings
from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope
from orderly.messaging.consumer import Consumer, RetryPolicy
from orderly.messaging.envelope import decode_envelope
from orderly.ordering import context
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.prices import LinePrice
from orderly.storage import Database, sql

OUTBOX = sql("SELECT envelope FROM outbox ORDER BY id")


@dataclass
class FakeAvailability:
    """Inventory's stock as a dict: checks read it, holds take from it, `let_go` gives back."""

    stock: dict[str, int]
    held: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        items = [self._line(product_id, quantity) for product_id, quantity in requested]
        return {"all_available": all(i["is_available"] for i in items), "items": items}

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        short = [
            line for line in (await self.check(requested))["items"] if not line["is_available"]
        ]
        if short:
            return short
        for product_id, quantity in requested:
            self.stock[product_id] -= quantity
        self.held[order_id] = list(requested)
        return []

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        for product_id, quantity in self.held.pop(order_id, []):
            self.stock[product_id] += quantity

    async def close(self) -> None:
        return None

    def _line(self, product_id: str, quantity: int) -> AvailabilityLine:
        if product_id not in self.stock:
            raise UnknownProduct(f"unknown product(s): {product_id}", product_ids=[product_id])
        available = self.stock[product_id]
        return {
            "product_id": product_id,
            "requested": quantity,
            "available": available,
            "is_available": available >= quantity,
        }


@dataclass
class FakePrices:
    """Pricing's quotes: each product's WAC in cents (none: not priced)."""

    cents: dict[str, int]

    async def quote(
        self, caller: Principal, requested: Sequence[tuple[str, int]]
    ) -> list[LinePrice | None]:
        return [
            LinePrice(self.cents[p], "wac", None, "2026-01-01") if p in self.cents else None
            for p, _ in requested
        ]

    async def close(self) -> None:
        return None


class OrderingBus:
    """Ordering's consumers, wired from `settings` as `Runtime` wires them."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        wired = context.wire(settings)
        self.consumers = [Consumer(sub, db, RetryPolicy()) for sub in wired.subscriptions]

    async def deliver(self, message: Envelope) -> int:
        """Hand `message` to every consumer of its type, each in its own transaction (a
        handler's error is raised, not retried); how many of them ran it (the inbox runs a
        message once per consumer)."""
        ran = 0
        for consumer in self.consumers:
            if message.type in consumer.subscription.types:
                ran += await self._handle(consumer, message)
        return ran

    async def _handle(self, consumer: Consumer, message: Envelope) -> bool:
        return await self.db.transaction(lambda tx: consumer.handle(tx, message))

    async def published(self, aggregate_id: str, *types: str) -> list[Envelope]:
        """What ordering has queued for publication about `aggregate_id` (an order; its
        saga's commands too), of `types` if named, oldest first."""
        rows = await self.db.read(lambda tx: tx.fetch_all(OUTBOX, {}))
        sent = [decode_envelope(row["envelope"]) for row in rows]
        return [
            m for m in sent if m.aggregate_id == aggregate_id and (not types or m.type in types)
        ]
