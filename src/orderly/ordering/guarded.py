"""The guarded checkout (seed 003), orchestrated: create the order `PENDING`, check
inventory (through a circuit breaker), then a saga reserves the stock and takes the
payment; the order is `PLACED`, or, when the payment fails, its stock is released (the
compensation) and it is `PAYMENT_FAILED`.

While the breaker is open (or the call fails) the check answers from the last ATP inventory
gave for each product (a snapshot kept on every live check). Such orders are marked for
re-verification: their saga's reservation, handled when inventory is back, says whether the
stock is really there, and a shortage cancels the order before any payment is taken.
"""

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from orderly.inventory.messages import (
    AvailabilityLine,
    AvailabilityReport,
    InventoryInsufficient,
    InventoryReleased,
    InventoryReserved,
    ReleaseInventory,
    ReserveInventory,
    Units,
)
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Unavailable
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope, Message
from orderly.observability import BREAKER_OPEN, FALLBACK_CHECKS
from orderly.ordering import domain, store
from orderly.ordering.availability import ProductAvailability, UnknownProduct
from orderly.ordering.domain import OrderStatus
from orderly.ordering.messages import SOURCE, OrderCreated
from orderly.payments.messages import ChargePayment, PaymentCompleted, PaymentFailed
from orderly.sagas import engine
from orderly.sagas.engine import Definition, Saga, Step
from orderly.storage import Database, Row, Tx

if TYPE_CHECKING:
    from orderly.config import Settings

log = structlog.get_logger(__name__)

KIND = "guarded_checkout"


class Timing:
    """The deployment's saga step timeout and retries, and how long a request waits."""

    step_timeout = 30.0
    step_retries = 3
    wait = 5.0
    breaker_threshold = 5
    breaker_ttl = 10.0


TIMING = Timing()


def configure(settings: "Settings") -> None:
    TIMING.step_timeout = settings.saga_step_timeout
    TIMING.step_retries = settings.saga_step_retries
    TIMING.wait = settings.checkout_wait
    TIMING.breaker_threshold = settings.breaker_threshold
    TIMING.breaker_ttl = settings.breaker_ttl
    DEFINITIONS[KIND] = _definition()


# -- the saga -------------------------------------------------------------------------------


def _command_data(saga: Saga, step: Step, undo: bool) -> Message:
    data = saga.data
    if step.name == "reserve":
        if undo:
            return ReleaseInventory(order_id=data["orderId"], reason="compensation")
        return ReserveInventory(
            order_id=data["orderId"],
            items=[
                Units(product_id=i["product_id"], quantity=i["quantity"]) for i in data["items"]
            ],
            account_id=data.get("accountId"),
            cart_id=data.get("cartId"),
        )
    return ChargePayment(
        order_id=data["orderId"],
        user_id=data["userId"],
        account_id=data.get("accountId"),
        amount=Decimal(data["amount"]),
        currency=data["currency"],
        payment_method=data["paymentMethod"],
    )


async def _placed(tx: Tx, saga: Saga) -> None:
    from orderly.ordering.service import move_order

    await move_order(tx, saga.id, OrderStatus.PROCESSING, {"saga": KIND})


async def _failed(tx: Tx, saga: Saga) -> None:
    from orderly.ordering.service import cancel_after_saga

    failed_at = next(s["name"] for s in saga.steps if s["status"] == "failed")
    if failed_at == "pay":
        await cancel_after_saga(tx, saga.id, OrderStatus.PAYMENT_FAILED, "payment_failed")
    else:
        reason = "insufficient_inventory" if failed_at == "reserve" else saga.reason or "failed"
        await cancel_after_saga(tx, saga.id, OrderStatus.CANCELLED, reason)


def _definition() -> Definition:
    timeout, retries = TIMING.step_timeout, TIMING.step_retries
    return Definition(
        kind=KIND,
        source=SOURCE,
        steps=(
            Step(
                "reserve",
                command=ReserveInventory.TYPE,
                succeeded=(InventoryReserved.TYPE,),
                failed=(InventoryInsufficient.TYPE,),
                compensation=ReleaseInventory.TYPE,
                compensated=(InventoryReleased.TYPE,),
                timeout=timeout,
                retries=retries,
            ),
            Step(
                "pay",
                command=ChargePayment.TYPE,
                succeeded=(PaymentCompleted.TYPE,),
                failed=(PaymentFailed.TYPE,),
                timeout=timeout,
                retries=retries,
            ),
        ),
        command_data=_command_data,
        on_completed=_placed,
        on_compensated=_failed,
    )


DEFINITIONS: dict[str, Definition] = {KIND: _definition()}


def saga_data(order: OrderCreated) -> dict[str, Any]:
    """What the saga keeps to build its commands, from the order as created."""
    return {
        "orderId": order.order_id,
        "userId": order.user_id,
        "accountId": order.account_id,
        "cartId": order.cart_id,
        "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in order.items],
        "amount": str(order.total_amount),
        "currency": order.currency,
        "paymentMethod": order.payment_method,
    }


async def advance_saga_on_reply(tx: Tx, message: Envelope) -> None:
    """Inventory's and payments' answers move the saga that asked. The reservation's answer
    is also the re-verification of an order placed on fallback data: inventory itself said
    whether the stock is there."""
    if not await engine.advance(tx, DEFINITIONS, message):
        return
    if message.type in (InventoryReserved.TYPE, InventoryInsufficient.TYPE):
        # a checkout's saga has its order's id
        order = await tx.fetch_one(store.GET_ORDER, {"id": message.saga_id})
        if order is not None and order["reverify"]:
            await tx.execute(store.SET_REVERIFIED, {"id": order["id"], "reverify": False})
            details = {"event": "reverified", "available": message.type == InventoryReserved.TYPE}
            entry = {"order_id": order["id"], "status": order["status"], "details": details}
            await tx.execute(store.INSERT_HISTORY, {**entry, "at": utcnow()})


async def saga_timer(db: Database, interval: float) -> None:
    """Send again, or fail, saga steps past their deadline, every `interval` seconds."""
    while True:
        try:
            while await engine.expire_overdue(db, DEFINITIONS) >= 200:
                pass
        except Exception as error:  # the next round tries again
            log.warning("saga timeouts failed", error=type(error).__name__)
        await asyncio.sleep(min(interval, max(TIMING.step_timeout / 4, 0.05)))


# -- the check, with its breaker ------------------------------------------------------------


class GuardedAvailability:
    """Inventory's availability behind a circuit breaker: after `threshold` failures in a
    row calls are not even tried for `ttl` seconds, then one is let through to see.

    `check` refuses (503) while the breaker is open; `check_or_fallback` answers from the
    ATP snapshots instead and says so."""

    def __init__(self, inner: ProductAvailability, db: Database) -> None:
        self.inner = inner
        self.db = db
        self.breakers = AsyncCircuitBreakerFactory(
            default_threshold=TIMING.breaker_threshold,
            default_ttl=TIMING.breaker_ttl,
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


async def _items(db: Database, order_id: str) -> list[Row]:
    return await db.read(lambda tx: tx.fetch_all(store.GET_ITEMS, {"id": order_id}))


async def outcome(db: Database, order_id: str, wait: float) -> dict[str, Any] | None:
    """The order once its saga has ended, or None if it has not within `wait` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    pause = 0.005
    while True:
        order = await db.read(lambda tx: tx.fetch_one(store.GET_ORDER, {"id": order_id}))
        assert order is not None
        if order["status"] not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
            return {
                "order_id": order_id,
                "status": domain.word(order["channel"], order["status"]),
                "channel": order["channel"],
                "total_amount": money(order["total_cents"]),
                "currency": order["currency"],
            }
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
