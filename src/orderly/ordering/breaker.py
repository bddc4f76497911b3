"""The guarded checkout's availability check (seed 003), through a circuit breaker.

While the breaker is open (or the call fails) the check answers from the last ATP inventory
gave for each product (a snapshot kept on every live check); the order placed on it is
re-verified by its saga's reservation (`checkout_saga`).
"""

from collections.abc import Sequence
from typing import Any

import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Unavailable
from orderly.kernel.principal import Principal
from orderly.observability import BREAKER_OPEN, FALLBACK_CHECKS
from orderly.ordering import store
from orderly.ordering.availability import ProductAvailability, UnknownProduct
from orderly.ordering.domain import InsufficientStock
from orderly.ordering.policy import Timing
from orderly.storage import Database, Tx

log = structlog.get_logger(__name__)


class GuardedAvailability:
    """Inventory's availability behind a circuit breaker: after `threshold` failures in a
    row calls are not even tried for `ttl` seconds, then one is let through to see.

    `check` refuses (503) while the breaker is open; `check_or_fallback` answers from the
    ATP snapshots instead and says so."""

    def __init__(self, inner: ProductAvailability, db: Database, timing: Timing) -> None:
        self.inner = inner
        self.db = db
        self.breakers = AsyncCircuitBreakerFactory(
            default_threshold=timing.breaker_threshold,
            default_ttl=timing.breaker_ttl,
            exclude=[UnknownProduct],
        )
        self.state = "closed"
        self.breakers.add_listener(self._heard)

    def _heard(self, name: str, event_name: str, event: Any) -> None:
        if event_name == "state_changed":
            self.state = str(event.state)
            BREAKER_OPEN.labels(name).set(0 if self.state == "closed" else 1)
            log.warning("circuit breaker", circuit=name, state=self.state)

    async def live(
        self, requested: list[tuple[str, int]], token: str, cart: str = ""
    ) -> AvailabilityReport:
        breaker = await self.breakers.get_breaker("inventory")
        async with breaker:
            report = await self.inner.check(requested, token=token, cart=cart)
        await self._remember(report)
        return report

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        try:
            return await self.live(requested, token, cart)
        except OpenedState:
            raise Unavailable("inventory is unavailable (circuit open)") from None

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        """The direct flow's hold: no breaker and no fallback, a hold is made or it is not."""
        return await self.inner.hold(order_id, requested, caller=caller, cart_id=cart_id)

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        await self.inner.let_go(order_id, token=token)

    async def check_or_fallback(
        self, requested: list[tuple[str, int]], token: str
    ) -> tuple[AvailabilityReport, bool]:
        try:
            return await self.live(requested, token), False
        except (OpenedState, Unavailable):
            FALLBACK_CHECKS.labels("inventory").inc()
            return await self._snapshot(requested), True

    async def _remember(self, report: AvailabilityReport) -> None:
        now = utcnow()

        async def work(tx: Tx) -> None:
            await tx.execute_many(
                store.UPSERT_SNAPSHOT,
                [
                    {"product_id": i["product_id"], "available": int(i["available"]), "at": now}
                    for i in report["items"]
                ],
            )

        await self.db.transaction(work)

    async def _snapshot(self, requested: Sequence[tuple[str, int]]) -> AvailabilityReport:
        async def work(tx: Tx) -> AvailabilityReport:
            items: list[AvailabilityLine] = []
            for product_id, quantity in requested:
                row = await tx.fetch_one(store.GET_SNAPSHOT, {"product_id": product_id})
                if row is None:
                    raise Unavailable(
                        f"inventory is unavailable and nothing is known of {product_id}"
                    )
                available = int(row["available"])
                items.append(
                    {
                        "product_id": product_id,
                        "requested": quantity,
                        "available": available,
                        "is_available": available >= quantity,
                    }
                )
            return {"all_available": all(i["is_available"] for i in items), "items": items}

        return await self.db.read(work)

    async def close(self) -> None:
        await self.inner.close()


async def checked(
    availability: ProductAvailability, requested: list[tuple[str, int]], token: str
) -> bool:
    """Seed 003's check, through the breaker: live, or else from the last snapshot (True:
    the order is placed on that fallback). A line short of stock is `InsufficientStock`."""
    if isinstance(availability, GuardedAvailability):
        report, fallback = await availability.check_or_fallback(requested, token)
    else:
        report, fallback = await availability.check(requested, token=token), False
    short = [item for item in report["items"] if not item["is_available"]]
    if short:
        raise InsufficientStock(
            f"{len(short)} product(s) are not available in the quantity requested", items=short
        )
    return fallback
