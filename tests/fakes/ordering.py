"""Ordering without a server: fakes of the ports it asks before an order exists, and a bus
that hands messages to ordering's consumers as a running process would (through the inbox,
one transaction each), on a real, migrated database."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.principal import Principal
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.prices import LinePrice
from orderly.storage import sql

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
