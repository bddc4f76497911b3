"""Ordering's message handlers: each reads its message and calls the job it starts.

A B2C order (seed 002 Flow 3) is moved on by events: inventory reserves (`confirmed`,
`order.confirmed`) or cannot (`cancelled`); payments charges (`processing`) or cannot
(`cancelled`). A cancelled order publishes `order.cancelled`, on which inventory gives its
stock back and payments voids or refunds. An answer to a guarded checkout's saga command
moves that saga instead (one delivery, one transaction).
"""

import uuid
from decimal import Decimal

import msgspec
from msgspec import UNSET

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.fulfillment.messages import BackorderCancelled, LineCancelled, OrderStatusUpdated
from orderly.inventory.messages import InventoryInsufficient, InventoryReserved
from orderly.kernel.clock import utcnow
from orderly.kernel.money import from_cents, to_cents
from orderly.messaging import Envelope, emit, new_message
from orderly.ordering import b2b_saga, checkout_saga, domain, moves, queries, sagas, store
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.domain import Channel, Order, OrderStatus
from orderly.ordering.messages import CURRENCY, SOURCE, OrderConfirmed, OrderCredited
from orderly.ordering.policy import OrderingPolicy
from orderly.payments.messages import PaymentCompleted, PaymentFailed, RefundCreated
from orderly.storage import Tx


class CheckoutHandlers:
    """The handlers of the checkout flows' answers, bound to the deployment's policy (the
    saga's timings, the hold limits of a cart given back). Each bound method is one
    consumer, named after it."""

    def __init__(self, policy: OrderingPolicy) -> None:
        self.policy = policy
        self.limits = policy.hold_limits
        self.sagas = sagas.definitions(policy)

    async def advance_saga_on_reply(self, tx: Tx, message: Envelope) -> None:
        """A saga's answer that no other handler takes (`inventory.released`, and the B2B
        checkout's answers from compliance, pricing and the ERP)."""
        await checkout_saga.advance(tx, self.sagas, message)

    async def retry_checkout(self, tx: Tx, message: Envelope) -> None:
        """An operator replayed a failed B2B checkout's dead letter: its saga runs again."""
        await b2b_saga.retry(tx, self.policy, message)

    async def on_inventory_reserved(self, tx: Tx, message: Envelope) -> None:
        """Seed 002 step 3A: stock is reserved; the order is confirmed (`order.confirmed`)."""
        if message.saga_id:
            await checkout_saga.advance(tx, self.sagas, message)
            return
        order = await queries.order_for(tx, message.read(InventoryReserved).order_id)
        if order.channel is not Channel.B2C:
            return  # a direct order was accepted already; its reservation is inventory's affair
        if order.status is OrderStatus.CANCELLED:
            # cancelled while inventory was reserving: give the stock back again
            moves.refused(order, OrderStatus.CONFIRMED, message.type)
            await moves.announce_cancellation(tx, order, "cancelled")
            return
        if not order.may_become(OrderStatus.CONFIRMED):
            moves.refused(order, OrderStatus.CONFIRMED, message.type)
            return
        assert order.total_cents is not None  # a b2c order has every line priced
        told = OrderConfirmed(
            order_id=order.id,
            user_id=order.owner_id,
            total_amount=from_cents(order.total_cents),
            currency=order.currency or CURRENCY,
            # what payments needs to charge it
            payment_method=order.payment_method,
            account_id=order.account_id,
        )
        confirmed = new_message(told, source=SOURCE, aggregate_id=order.id)
        details = {"event_id": message.id}
        await moves.move(tx, order, OrderStatus.CONFIRMED, details, utcnow(), announce=confirmed)

    async def on_inventory_insufficient(self, tx: Tx, message: Envelope) -> None:
        """Seed 002 step 3B: not enough stock; the order is cancelled (`order.cancelled`)."""
        if message.saga_id:
            await checkout_saga.advance(tx, self.sagas, message)
            return
        short = message.read(InventoryInsufficient)
        order = await queries.order_for(tx, short.order_id)
        if order.channel in (Channel.GUARDED, Channel.B2B):
            return  # its saga handles the answer
        if not order.may_become(OrderStatus.CANCELLED):
            moves.refused(order, OrderStatus.CANCELLED, message.type)
            return
        details = {"event_id": message.id, "items": msgspec.to_builtins(short.items)}
        await moves.cancel(tx, order, "insufficient_inventory", details, self.limits)

    async def on_payment_completed(self, tx: Tx, message: Envelope) -> None:
        """Seed 002 step 4: paid; the order is `processing`."""
        paid = message.read(PaymentCompleted)
        details = {"event_id": message.id, "payment_id": paid.payment_id}
        processing = OrderStatus.PROCESSING
        # the usual case, a B2C order waiting for its payment, moved without reading it first
        if not message.saga_id and await store.advance_b2c(
            tx, paid.order_id, processing.value, domain.sources(processing), details, utcnow()
        ):
            moves.counted(tx, Channel.B2C.value, processing)
            return
        order = await self._b2c_order_to_move(tx, message, paid.order_id, processing)
        if order is not None:
            await moves.move(tx, order, processing, details, utcnow())

    async def on_payment_failed(self, tx: Tx, message: Envelope) -> None:
        """Seed 002 step 4, failure: the order is cancelled and its stock released."""
        failed = message.read(PaymentFailed)
        order = await self._b2c_order_to_move(tx, message, failed.order_id, OrderStatus.CANCELLED)
        if order is not None:
            details = {"event_id": message.id, "payment_reason": failed.reason}
            await moves.cancel(tx, order, "payment_failed", details, self.limits)

    async def _b2c_order_to_move(
        self, tx: Tx, message: Envelope, order_id: str, wanted: OrderStatus
    ) -> Order | None:
        """The B2C order a payment answer moves to `wanted`, or None: a saga's answer goes
        to its saga, another flow's order is not moved by it, and a move the machine does
        not allow (the order was cancelled meanwhile: payments refunds on `order.cancelled`)
        is refused and logged."""
        if message.saga_id:
            await checkout_saga.advance(tx, self.sagas, message)
            return None
        order = await queries.order_for(tx, order_id)
        if order.channel is not Channel.B2C:
            return None
        if not order.may_become(wanted):
            moves.refused(order, wanted, message.type)
            return None
        return order


async def apply_status_update_on_order_status_updated(tx: Tx, message: Envelope) -> None:
    """Delivery reported progress (seed 001 `order.status_updated`): move the order forward."""
    update = message.read(OrderStatusUpdated)
    order = await queries.order_for(tx, update.order_id)
    new = order.delivered_to(update.current_status)
    if new is None:  # stale or repeated: an order never moves back
        return
    told = msgspec.to_builtins(update)
    details = {k: v for k, v in told.items() if k not in {"order_id", "current_status"}}
    details["event_id"] = message.id
    await moves.move(tx, order, new, details, utcnow())


# A credit is named from the message that caused it: told twice, it is made once.
_CREDITS = uuid.UUID("6a1f0c3e-2b7d-4e59-8c14-3d9e0f7a2b61")


async def credit_on_units_not_shipped(tx: Tx, message: Envelope) -> None:
    """Units of the order will not ship: a short pick cancelled them from their line
    (`fulfillment.line_cancelled`), or an operator cancelled their backorder
    (`fulfillment.backorder_cancelled`). The order is credited their price
    (`order.credited`, in its history), once; payments gives back what it took. A backorder
    cancelled with its order is not: the order's cancellation gives all back."""
    told: LineCancelled | BackorderCancelled
    if message.type == LineCancelled.TYPE:
        told, reason = message.read(LineCancelled), "line_cancelled"
    else:
        told = message.read(BackorderCancelled)
        if told.reason == "order_cancelled":
            return
        reason = "backorder_cancelled"
    order = await queries.order_for(tx, told.order_id)
    prices = {
        row["product_id"]: row["unit_price_cents"]
        for row in await tx.fetch_all(store.GET_ITEMS, {"id": order.id})
    }
    unit = prices.get(told.product_id)
    cents = 0 if unit is None else int(unit) * told.quantity
    credit_id = str(uuid.uuid5(_CREDITS, message.id))
    params = {
        "id": credit_id,
        "order_id": order.id,
        "product_id": told.product_id,
        "quantity": told.quantity,
        "amount_cents": cents,
        "reason": reason,
        "at": utcnow(),
    }
    if not await tx.execute(store.INSERT_CREDIT, params):
        return
    details = {
        "event": message.type,
        "event_id": message.id,
        "credit_id": credit_id,
        "product_id": told.product_id,
        "quantity": told.quantity,
        "amount": str(from_cents(cents)),
    }
    history = {"order_id": order.id, "status": order.status.value, "details": details}
    await tx.execute(store.INSERT_HISTORY, {**history, "at": utcnow()})
    if not cents:
        return
    credited = OrderCredited(
        credit_id=credit_id,
        order_id=order.id,
        product_id=told.product_id,
        quantity=told.quantity,
        amount=from_cents(cents),
        currency=order.currency or CURRENCY,
        reason=reason,
    )
    await emit(tx, new_message(credited, source=SOURCE, aggregate_id=order.id))


async def note_refund_on_refund_created(tx: Tx, message: Envelope) -> None:
    """Seed 002: payments refunded the order; its history says so."""
    refund = message.read(RefundCreated)
    order = await queries.order_for(tx, refund.order_id)
    details = {
        "event": message.type,
        "event_id": message.id,
        "refund_id": refund.refund_id,
        "amount": str(refund.amount),
    }
    await tx.execute(
        store.INSERT_HISTORY,
        {"order_id": order.id, "status": order.status.value, "details": details, "at": utcnow()},
    )


async def copy_product_on_product_created(tx: Tx, message: Envelope) -> None:
    product = message.read(ProductCreated)
    await tx.execute(
        store.UPSERT_PRODUCT,
        {
            "product_id": product.product_id,
            "sku": product.sku,
            "name": product.name,
            "price_cents": _cents(product.price),
            "dea_schedule": product.dea_schedule,
            "at": utcnow(),
        },
    )


async def copy_product_on_product_updated(tx: Tx, message: Envelope) -> None:
    """`product.updated` carries the fields that changed (`deaSchedule` null: none now)."""
    changed = message.read(ProductUpdated)
    current = await tx.fetch_one(store.GET_PRODUCT, {"product_id": changed.product_id})
    if current is None:
        raise UnknownProduct(f"product {changed.product_id} is not known here yet")
    name, price, schedule = changed.name, changed.price, changed.dea_schedule
    await tx.execute(
        store.UPSERT_PRODUCT,
        {
            "product_id": current["product_id"],
            "sku": current["sku"],
            "name": current["name"] if name is UNSET else name,
            "price_cents": current["price_cents"] if price is UNSET else _cents(price),
            "dea_schedule": current["dea_schedule"] if schedule is UNSET else schedule,
            "at": utcnow(),
        },
    )


def _cents(price: Decimal | None) -> int | None:
    return None if price is None else to_cents(price)
