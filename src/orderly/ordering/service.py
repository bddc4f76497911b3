"""Ordering commands, queries and message handlers.

An order is placed through its sales channel's checkout flow (`domain.Channel`):
- `direct` (seed 001): availability is checked first; only then does the order exist.
- `b2c` (seed 002 Flow 3): the order is created `pending`, and events move it on: inventory
  reserves (`confirmed`, `order.confirmed`) or cannot (`cancelled`); payments charges
  (`processing`) or cannot (`cancelled`). A cancelled order publishes `order.cancelled`, on
  which inventory gives its stock back and payments voids or refunds.

Every status change goes through the state machine in `domain` and is appended to the
order's history; a move the machine does not allow is refused and logged.
"""

import asyncio
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
import orjson
import structlog
from msgspec import UNSET

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.fulfillment.messages import OrderStatusUpdated
from orderly.inventory.messages import AvailabilityReport, InventoryInsufficient, InventoryReserved
from orderly.kernel import faults
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, OrderlyError, Unavailable, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, money, to_cents
from orderly.kernel.principal import BUYER, Principal
from orderly.messaging import Envelope, emit, emit_along, new_message
from orderly.ordering import carts, domain, guarded, store
from orderly.ordering.availability import ProductAvailability, UnknownProduct
from orderly.ordering.buyers import AccountStanding, NotABuyer, check_controlled
from orderly.ordering.domain import Channel, InsufficientStock, Line, OrderStatus
from orderly.ordering.messages import (
    CURRENCY,
    SOURCE,
    CancelledLine,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderLine,
)
from orderly.ordering.prices import LinePrice, PriceBook
from orderly.ordering.products import ProductSource, asking_catalog
from orderly.payments.messages import PaymentCompleted, PaymentFailed, RefundCreated
from orderly.sagas import engine
from orderly.storage import Database, Row, Tx

if TYPE_CHECKING:
    from orderly.config import Settings

log = structlog.get_logger(__name__)

# An Idempotency-Key answers the same for at least this long.
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Channels:
    """Which checkout flows callers may use: `default` when they name none."""

    default: Channel = Channel.DIRECT
    consumer: frozenset[Channel] = frozenset({Channel.DIRECT, Channel.B2C, Channel.GUARDED})
    account: frozenset[Channel] = frozenset({Channel.DIRECT})


CHANNELS = Channels()


def configure(settings: "Settings") -> None:
    """The deployment's channels (`ORDERLY_DEFAULT_CHANNEL`, `ORDERLY_CHANNELS`,
    `ORDERLY_ACCOUNT_CHANNELS`)."""
    global CHANNELS
    CHANNELS = Channels(
        default=Channel(settings.default_channel),
        consumer=frozenset(Channel(c) for c in settings.channels),
        account=frozenset(Channel(c) for c in settings.account_channels),
    )
    guarded.configure(settings)


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency key used for a different request"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this idempotency key is still running"


class ChannelNotAllowed(OrderlyError):
    status = 403
    code = "channel_not_allowed"
    title = "Checkout channel not allowed"


class ProductNotPriced(Unprocessable):
    code = "product_not_priced"
    title = "Product has no price"


class PaymentMethodRequired(Unprocessable):
    code = "payment_method_required"
    title = "A payment method is required"


class OrderTooLarge(Unprocessable):
    code = "order_total_too_large"
    title = "Order total too large"


# Far past any real order (ten trillion dollars), and well inside the 64-bit integers both
# databases keep cents in: 500 lines at the largest price and quantity would overflow them.
MAX_TOTAL_CENTS = 10**15


@dataclass(frozen=True)
class PlaceOrder:
    lines: list[Line]
    shipping_address: dict[str, Any]
    owner: Principal
    idempotency_key: str | None = None
    channel: Channel | None = None
    payment_method: str | None = None
    cart_id: str | None = None
    from_cart: bool = False
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def scoped_key(self) -> str | None:
        """Idempotency keys belong to the caller's account (or, without one, to the caller):
        the same key from two accounts never collides."""
        if not self.idempotency_key:
            return None
        scope = f"account:{self.owner.account}" if self.owner.account else self.owner.user_id
        return f"{scope}:{self.idempotency_key}"

    def fingerprint(self) -> str:
        if not self._fingerprint:
            # a checkout's lines are the cart's: the same request is the same cart checkout
            lines = [] if self.from_cart else [[ln.product_id, ln.quantity] for ln in self.lines]
            canonical = orjson.dumps(
                {
                    "lines": lines,
                    "to": self.shipping_address,
                    "channel": self.channel,
                    "pay": self.payment_method,
                    "cart": self.from_cart,
                },
                option=orjson.OPT_SORT_KEYS,
            )
            self._fingerprint.append(hashlib.sha256(canonical).hexdigest())
        return self._fingerprint[0]


@dataclass(frozen=True)
class Placed:
    response: dict[str, Any]
    replayed: bool
    # 202: the guarded checkout's outcome was not known within its wait
    accepted_only: bool = False


def channel_for(caller: Principal, asked: Channel | None) -> Channel:
    """The flow an order takes: the one asked for, or the deployment's default, if the
    caller's kind (an account's member, or a consumer) may use it."""
    allowed = CHANNELS.account if caller.account else CHANNELS.consumer
    if asked is None:  # the default, or else the first flow this kind of caller may use
        asked = CHANNELS.default
        if asked not in allowed:
            asked = next(c for c in Channel if c in allowed)
    channel = asked
    if channel not in allowed:
        raise ChannelNotAllowed(
            f"the {channel.value} checkout is not open to this caller",
            allowed=sorted(c.value for c in allowed),
        )
    return channel


async def place_order(
    db: Database,
    availability: ProductAvailability,
    cmd: PlaceOrder,
    standing: AccountStanding | None = None,
    catalog: ProductSource | None = None,
    prices: PriceBook | None = None,
) -> Placed:
    """Place an order through its channel's flow, at the caller's own prices (`prices`); a
    repeated Idempotency-Key answers what the first request did and never makes a second
    order. A product ordering has not heard of yet is asked of `catalog` before the order
    is refused."""
    domain.check_lines(cmd.lines)
    cmd = replace(cmd, channel=channel_for(cmd.owner, cmd.channel))
    channel = cmd.channel
    assert channel is not None
    if cmd.owner.account is not None:
        await _check_buyer(standing, cmd.owner)
    if cmd.scoped_key:
        earlier = await db.read(lambda tx: _earlier_response(tx, cmd))
        if earlier is not None:
            return Placed(earlier, replayed=True)
    if prices is None:
        raise Unavailable("pricing is not configured for this process")
    await check_controlled(db, standing, catalog, cmd.owner, [ln.product_id for ln in cmd.lines])
    order_id = new_id()
    fallback = False
    if channel is Channel.DIRECT:
        quoted = await _hold_at_prices(availability, prices, cmd, order_id)
    else:
        if not cmd.payment_method:
            raise PaymentMethodRequired(f"a {channel.value} order needs a payment_method")
        if channel is Channel.GUARDED:
            _, fallback = await _guarded_check(availability, cmd)
        quoted = await prices.quote(cmd.owner, _requested(cmd))
    product_ids = [line.product_id for line in cmd.lines]
    try:
        placed = await asking_catalog(
            db,
            catalog,
            product_ids,
            cmd.owner.token,
            lambda: _write(db, cmd, order_id, quoted, reverify=fallback),
        )
    except BaseException:
        if channel is Channel.DIRECT:  # the order was not written: its hold goes
            await availability.let_go(order_id, token=cmd.owner.token)
        raise
    if placed.replayed:
        if channel is Channel.DIRECT:
            await availability.let_go(order_id, token=cmd.owner.token)
        return placed
    if channel is Channel.GUARDED:
        if faults.POINT:
            faults.crash_at("checkout.committed")
        return await _await_outcome(db, cmd, placed)
    return placed


async def _write(
    db: Database, cmd: PlaceOrder, order_id: str, quoted: list[LinePrice | None], *, reverify: bool
) -> Placed:
    # An order on its own is written in one statement (on PostgreSQL), needing no
    # transaction around it; a key to claim, a cart to spend or a saga to start do.
    alone = cmd.scoped_key is None and cmd.cart_id is None and cmd.channel is not Channel.GUARDED
    write = db.autocommit if alone else db.transaction
    try:
        return await write(lambda tx: _create(tx, cmd, order_id, quoted, reverify=reverify))
    except _Replayed as replay:  # a concurrent request with the same key won
        return Placed(replay.response, replayed=True)


def _requested(cmd: PlaceOrder) -> list[tuple[str, int]]:
    return [(line.product_id, line.quantity) for line in cmd.lines]


async def _hold_at_prices(
    availability: ProductAvailability, prices: PriceBook, cmd: PlaceOrder, order_id: str
) -> list[LinePrice | None]:
    """The direct flow holds the stock and asks the prices at once (two services between
    processes); if the prices cannot be had, the hold goes."""
    held, quoted = await asyncio.gather(
        _hold(availability, cmd, order_id),
        prices.quote(cmd.owner, _requested(cmd)),
        return_exceptions=True,
    )
    if isinstance(held, BaseException):
        raise held
    if isinstance(quoted, BaseException):
        await availability.let_go(order_id, token=cmd.owner.token)
        raise quoted
    return quoted


async def _hold(availability: ProductAvailability, cmd: PlaceOrder, order_id: str) -> None:
    """Seed 001: nothing is written unless every line's stock is the order's. The hold is
    made under the order's id, so a 201 means the units are held (inventory.provisional)."""
    requested = _requested(cmd)
    short = await availability.hold(order_id, requested, caller=cmd.owner, cart_id=cmd.cart_id)
    if short:
        raise InsufficientStock(
            f"{len(short)} product(s) are not available in the quantity requested", items=short
        )


async def _guarded_check(
    availability: ProductAvailability, cmd: PlaceOrder
) -> tuple[AvailabilityReport, bool]:
    """Seed 003's check, through the breaker: live, or else from the last snapshot."""
    requested = [(line.product_id, line.quantity) for line in cmd.lines]
    if isinstance(availability, guarded.GuardedAvailability):
        report, fallback = await availability.check_or_fallback(requested, cmd.owner.token)
    else:
        report, fallback = await availability.check(requested, token=cmd.owner.token), False
    short = [item for item in report["items"] if not item["is_available"]]
    if short:
        raise InsufficientStock(
            f"{len(short)} product(s) are not available in the quantity requested", items=short
        )
    return report, fallback


async def _await_outcome(db: Database, cmd: PlaceOrder, placed: Placed) -> Placed:
    """Seed 003: the request waits for PLACED or PAYMENT_FAILED, up to the deployment's
    wait; then it answers 202 and the client polls. An Idempotency-Key answers the same
    from then on."""
    order_id = placed.response["order_id"]
    final = await guarded.outcome(db, order_id, guarded.TIMING.wait)
    response = final or placed.response
    if cmd.scoped_key:
        await db.transaction(
            lambda tx: tx.execute(
                store.SET_IDEMPOTENT_RESPONSE, {"key": cmd.scoped_key, "response": response}
            )
        )
    return Placed(response, replayed=False, accepted_only=final is None)


async def earlier_checkout(db: Database, cmd: PlaceOrder) -> Placed | None:
    """What a cart checkout with this Idempotency-Key answered before, if it was made
    (its cart is spent by then, so this is asked first)."""
    cmd = replace(cmd, channel=channel_for(cmd.owner, cmd.channel))
    if not cmd.scoped_key:
        return None
    earlier = await db.read(lambda tx: _earlier_response(tx, cmd))
    return None if earlier is None else Placed(earlier, replayed=True)


async def _check_buyer(standing: AccountStanding | None, caller: Principal) -> None:
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    now = await standing.of(caller)
    if now.disabled or now.account != caller.account or BUYER not in now.roles:
        raise NotABuyer(f"{caller.user_id} may not place orders for account {caller.account}")


async def _earlier_response(tx: Tx, cmd: PlaceOrder) -> dict[str, Any] | None:
    row = await tx.fetch_one(store.GET_IDEMPOTENCY_KEY, {"key": cmd.scoped_key})
    if row is None or _stale(row["created_at"]):
        return None
    if row["fingerprint"] != cmd.fingerprint():
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different order")
    if row["response"] is None:
        order = await tx.fetch_one(store.GET_ORDER, {"id": row["order_id"]})
        running_since = utcnow() - _aware(row["created_at"])
        if order is None or running_since < timedelta(seconds=guarded.TIMING.wait + 30):
            raise IdempotencyKeyInUse(
                "the first request with this Idempotency-Key is still running"
            )
        # its request ended without saying (the process stopped): answer with the order
        return {
            "order_id": order["id"],
            "status": domain.word(order["channel"], order["status"]),
            "channel": order["channel"],
            "total_amount": money(order["total_cents"]),
            "currency": order["currency"],
        }
    response: dict[str, Any] = row["response"]
    return response


async def forget_idempotency_keys(db: Database, older_than: timedelta) -> int:
    """Delete the keys older than `older_than` (longer than `IDEMPOTENCY_TTL`)."""
    before = utcnow() - max(older_than, IDEMPOTENCY_TTL)
    return await db.transaction(
        lambda tx: tx.execute(store.PRUNE_IDEMPOTENCY_KEYS, {"before": before})
    )


async def key_keeper(db: Database, interval: float) -> None:
    """Every hour, forget Idempotency-Keys two days old (they answer for one day)."""
    while True:
        try:
            await forget_idempotency_keys(db, 2 * IDEMPOTENCY_TTL)
        except Exception as error:  # upkeep only: the next round tries again
            log.warning("forgetting idempotency keys failed", error=type(error).__name__)
        await asyncio.sleep(3600)


def _aware(at: datetime | str) -> datetime:
    return datetime.fromisoformat(at) if isinstance(at, str) else at


def _stale(created_at: datetime | str) -> bool:
    return _aware(created_at) < utcnow() - IDEMPOTENCY_TTL


def _priced(
    channel: Channel, lines: list[Line], quoted: list[LinePrice | None]
) -> list[int | None]:
    """Each line's unit price, as pricing quoted the caller; every line has one unless the
    order is seed 001's (whose lines may have none). That every product exists was known
    before (`check_controlled` reads each one's schedule from ordering's copy)."""
    for line, price in zip(lines, quoted, strict=True):
        if price is None and channel is not Channel.DIRECT:
            raise ProductNotPriced(
                f"product {line.product_id} has no price yet", product_ids=[line.product_id]
            )
    return [None if price is None else price.cents for price in quoted]


async def _create(
    tx: Tx,
    cmd: PlaceOrder,
    order_id: str,
    quoted: list[LinePrice | None],
    *,
    reverify: bool = False,
) -> Placed:
    channel = cmd.channel or Channel.DIRECT
    status = OrderStatus.PROCESSING if channel is Channel.DIRECT else OrderStatus.PENDING
    prices = _priced(channel, cmd.lines, quoted)
    total = _total(cmd.lines, prices)
    response: dict[str, Any] = {"order_id": order_id, "status": domain.word(channel, status)}
    if channel is not Channel.DIRECT:  # seed 001 answers exactly {order_id, status}
        response |= {"channel": channel.value, "total_amount": money(total), "currency": CURRENCY}
    now = utcnow()
    if cmd.scoped_key:
        # a guarded checkout's answer is known only once its saga ends
        answer = None if channel is Channel.GUARDED else response
        await _claim_key(tx, cmd, answer, order_id, now)
    if cmd.cart_id:
        await carts.check_out(tx, cmd.cart_id, order_id)
    order = {
        "id": order_id,
        "status": status.value,
        "shipping_address": cmd.shipping_address,
        "at": now,
        "owner_id": cmd.owner.user_id,
        "account_id": cmd.owner.account,
        "channel": channel.value,
        "total_cents": total,
        "currency": CURRENCY,
        "payment_method": cmd.payment_method,
        "cart_id": cmd.cart_id,
        "reverify": reverify,
    }
    told = OrderCreated(
        order_id=order_id,
        user_id=cmd.owner.user_id,
        items=[
            _order_line(line, price, quote)
            for line, price, quote in zip(cmd.lines, prices, quoted, strict=True)
        ],
        total_amount=from_cents(total) if total is not None else None,
        currency=CURRENCY,
        status=domain.word(channel, status),
        channel=channel.value,
        shipping_address=cmd.shipping_address,
        payment_method=cmd.payment_method,
        account_id=cmd.owner.account,
        cart_id=cmd.cart_id,
        # a saga asks inventory and payments itself
        orchestrated=channel is Channel.GUARDED,
        # the direct flow held the stock before the order was written
        held=channel is Channel.DIRECT,
    )
    created = new_message(told, source=SOURCE, aggregate_id=order_id)
    if tx.dialect == "postgresql":
        lines = {
            "line_nos": list(range(1, len(cmd.lines) + 1)),
            "product_ids": [line.product_id for line in cmd.lines],
            "quantities": [line.quantity for line in cmd.lines],
            "unit_prices": prices,
        }
        await emit_along(tx, store.PLACE_ORDER_PG, {**order, **lines, "details": {}}, created)
    else:
        await tx.execute(store.INSERT_ORDER, order)
        await tx.execute_many(
            store.INSERT_ITEM,
            [
                {
                    "order_id": order_id,
                    "line_no": n,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price_cents": price,
                }
                for n, (line, price) in enumerate(zip(cmd.lines, prices, strict=True), start=1)
            ],
        )
        await tx.execute(
            store.INSERT_HISTORY,
            {"order_id": order_id, "status": status.value, "details": {}, "at": now},
        )
        await emit(tx, created)
    if channel is Channel.GUARDED:
        check = {"source": "fallback" if reverify else "inventory"}
        await engine.start(
            tx,
            guarded.DEFINITIONS[guarded.KIND],
            order_id,
            guarded.saga_data(told),
            done=(("check", check),),
        )
    return Placed(response, replayed=False)


def _total(lines: list[Line], prices: list[int | None]) -> int | None:
    """The order's total, if every line has a price."""
    total = 0
    for line, price in zip(lines, prices, strict=True):
        if price is None:
            return None
        total += price * line.quantity
    if total > MAX_TOTAL_CENTS:
        raise OrderTooLarge(f"an order's total may not pass {MAX_TOTAL_CENTS // 100} dollars")
    return total


def _order_line(line: Line, price: int | None, quote: LinePrice | None) -> OrderLine:
    """A line as `order.created` tells it: with its price and, when pricing quoted it, where
    the price comes from (pricing locks the order's figures from these)."""
    if quote is None:
        cost = None if price is None else from_cents(price)
        return OrderLine(product_id=line.product_id, quantity=line.quantity, price=cost)
    return OrderLine(
        product_id=line.product_id,
        quantity=line.quantity,
        price=from_cents(quote.cents),
        price_source=quote.source,
        contract_id=quote.contract_id,
        price_effective_date=date.fromisoformat(quote.effective_date),
    )


async def _claim_key(
    tx: Tx, cmd: PlaceOrder, response: dict[str, Any] | None, order_id: str, now: datetime
) -> None:
    params = {
        "key": cmd.scoped_key,
        "fingerprint": cmd.fingerprint(),
        "response": response,
        "order_id": order_id,
    }
    if await tx.execute(store.CLAIM_IDEMPOTENCY_KEY, {**params, "at": now}):
        return
    row = await tx.fetch_one(store.GET_IDEMPOTENCY_KEY, {"key": cmd.scoped_key})
    assert row is not None
    if _stale(row["created_at"]):  # an expired key starts afresh
        await tx.execute(store.REPLACE_IDEMPOTENCY_KEY, {**params, "at": now})
        return
    # a concurrent request with the same key won: answer as it did; no second order
    earlier = await _earlier_response(tx, cmd)
    assert earlier is not None
    raise _Replayed(earlier)


class _Replayed(Exception):
    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response


# -- queries --------------------------------------------------------------------------------


def _order_view(order: Row, items: list[Row], history: list[Row]) -> dict[str, Any]:
    channel = order["channel"]
    return {
        "order_id": order["id"],
        "status": domain.word(channel, order["status"]),
        "channel": channel,
        "total_amount": money(order["total_cents"]),
        "currency": order["currency"] or CURRENCY,
        "items": [
            {
                "product_id": item["product_id"],
                "quantity": item["quantity"],
                "unit_price": money(item["unit_price_cents"]),
            }
            for item in items
        ],
        "shipping_address": order["shipping_address"],
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "history": [
            {"status": domain.word(channel, h["status"]), "at": h["at"], "details": h["details"]}
            for h in history
        ],
    }


async def get_order(db: Database, caller: Principal, order_id: str) -> dict[str, Any]:
    """An order its owner (or account, or an operator) may see; to anyone else it does not exist."""

    async def work(tx: Tx) -> dict[str, Any]:
        order = await _visible(tx, caller, order_id)
        items = await tx.fetch_all(store.GET_ITEMS, {"id": order_id})
        history = await tx.fetch_all(store.GET_HISTORY, {"id": order_id})
        return _order_view(order, items, history)

    return await db.read(work)


async def _visible(tx: Tx, caller: Principal, order_id: str) -> Row:
    order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
    if order is None or not caller.may_see(order["owner_id"], order["account_id"]):
        raise OrderNotFound(f"order {order_id} does not exist")
    return order


# -- status changes -------------------------------------------------------------------------


async def _move(
    tx: Tx,
    order: Row,
    wanted: OrderStatus,
    details: dict[str, Any],
    now: datetime,
    announce: Envelope | None = None,
) -> None:
    """Move `order` to `wanted` (the machine must allow it), append it to its history and
    publish `announce` with it."""
    domain.transition(order["status"], wanted)
    move = {"id": order["id"], "status": wanted.value, "at": now, "version": order["version"]}
    changed: int | bool
    if tx.dialect == "postgresql":
        moved = {**move, "details": details}
        if announce is None:
            changed = await tx.execute(store.MOVE_PG, moved)
        else:
            changed = await emit_along(tx, store.MOVE_ANNOUNCED_PG, moved, announce)
    elif changed := await tx.execute(store.UPDATE_STATUS, move):
        await tx.execute(
            store.INSERT_HISTORY,
            {"order_id": order["id"], "status": wanted.value, "details": details, "at": now},
        )
        if announce is not None:
            await emit(tx, announce)
    if not changed:  # the handler's transaction is undone and the message tried again
        raise RuntimeError(f"order {order['id']} changed concurrently; retrying")


def _refused(order: Row, wanted: OrderStatus, cause: str) -> None:
    log.warning(
        "order transition refused",
        order_id=order["id"],
        current=order["status"],
        wanted=wanted.value,
        cause=cause,
    )


async def _cancel(tx: Tx, order: Row, reason: str, details: dict[str, Any]) -> None:
    """Cancel `order` and publish `order.cancelled`: its stock goes back, its payment is
    voided or refunded, and an unpaid order's cart comes back."""
    await _move(tx, order, OrderStatus.CANCELLED, {"reason": reason, **details}, utcnow())
    await _announce_cancellation(tx, order, reason)
    await _give_cart_back(tx, order)


# Not paid yet (a direct order is accepted, on account, as it is placed: `processing`).
UNPAID = frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED})


async def _give_cart_back(tx: Tx, order: Row) -> None:
    """A cart is spent once its order is paid (or, direct, accepted): an order cancelled
    before that (`order`, as it was) gives its customer the cart back."""
    if order["cart_id"] and OrderStatus(order["status"]) in UNPAID:
        await carts.restore(tx, order["cart_id"], order["id"])


async def _announce_cancellation(tx: Tx, order: Row, reason: str) -> None:
    items = await tx.fetch_all(store.GET_ITEMS, {"id": order["id"]})
    cancelled = OrderCancelled(
        order_id=order["id"],
        user_id=order["owner_id"],
        items=[
            CancelledLine(product_id=i["product_id"], quantity=int(i["quantity"])) for i in items
        ],
        reason=reason,
    )
    await emit(tx, new_message(cancelled, source=SOURCE, aggregate_id=order["id"]))


async def move_order(tx: Tx, order_id: str, wanted: OrderStatus, details: dict[str, Any]) -> None:
    """A saga moved the order on. If the customer cancelled it meanwhile, the move is
    refused and the cancellation announced again, so what the saga took (stock, payment)
    is given back."""
    order = await _order_for(tx, order_id)
    if domain.allowed(order["status"], wanted):
        await _move(tx, order, wanted, details, utcnow())
        return
    _refused(order, wanted, "saga")
    if order["status"] == OrderStatus.CANCELLED:
        await _announce_cancellation(tx, order, "cancelled")


async def cancel_after_saga(tx: Tx, order_id: str, status: OrderStatus, reason: str) -> None:
    """A saga failed and undid what it had done: the order ends `status`, and
    `order.cancelled` tells payments and fulfillment. An order cancelled meanwhile stays so."""
    order = await _order_for(tx, order_id)
    if not domain.allowed(order["status"], status):
        _refused(order, status, "saga")
        return
    await _move(tx, order, status, {"reason": reason}, utcnow())
    await _announce_cancellation(tx, order, reason)
    await _give_cart_back(tx, order)


async def cancel_order(
    db: Database, caller: Principal, order_id: str, reason: str = "customer"
) -> dict[str, Any]:
    """The customer (or an operator) cancels before shipment. Cancelling a cancelled order
    again changes nothing; a shipped one cannot be cancelled (409)."""

    async def work(tx: Tx) -> dict[str, Any]:
        order = await _visible(tx, caller, order_id)
        if order["status"] != OrderStatus.CANCELLED:
            if OrderStatus(order["status"]) not in domain.CANCELLABLE:
                _refused(order, OrderStatus.CANCELLED, "cancel request")
            await _cancel(tx, order, reason, {"by": caller.user_id})
        fresh = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
        assert fresh is not None
        items = await tx.fetch_all(store.GET_ITEMS, {"id": order_id})
        history = await tx.fetch_all(store.GET_HISTORY, {"id": order_id})
        return _order_view(fresh, items, history)

    return await db.transaction(work)


async def _order_for(tx: Tx, order_id: str) -> Row:
    order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
    if order is None:  # not yet here, or never: tried again, then dead-lettered
        raise OrderNotFound(f"order {order_id} does not exist")
    return order


# -- handlers -------------------------------------------------------------------------------


async def apply_status_update_on_order_status_updated(tx: Tx, message: Envelope) -> None:
    """Delivery reported progress (seed 001 `order.status_updated`): move the order forward."""
    update = message.read(OrderStatusUpdated)
    order = await _order_for(tx, update.order_id)
    new = domain.delivery_transition(order["status"], update.current_status)
    if new is None:  # stale or repeated: an order never moves back
        return
    told = msgspec.to_builtins(update)
    details = {k: v for k, v in told.items() if k not in {"order_id", "current_status"}}
    details["event_id"] = message.id
    await _move(tx, order, new, details, utcnow())


async def on_inventory_reserved(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 3A: stock is reserved; the order is confirmed (`order.confirmed`).
    An answer to a saga's command moves that saga instead (one delivery, one transaction)."""
    if message.saga_id:
        await guarded.advance_saga_on_reply(tx, message)
        return
    order = await _order_for(tx, message.read(InventoryReserved).order_id)
    status = OrderStatus(order["status"])
    if order["channel"] != Channel.B2C:
        return  # a direct order was accepted already; its reservation is inventory's affair
    if status is OrderStatus.CANCELLED:
        # cancelled while inventory was reserving: give the stock back again
        _refused(order, OrderStatus.CONFIRMED, message.type)
        await _announce_cancellation(tx, order, "cancelled")
        return
    if not domain.allowed(status, OrderStatus.CONFIRMED):
        _refused(order, OrderStatus.CONFIRMED, message.type)
        return
    told = OrderConfirmed(
        order_id=order["id"],
        user_id=order["owner_id"],
        total_amount=from_cents(int(order["total_cents"])),
        currency=order["currency"] or CURRENCY,
        # what payments needs to charge it
        payment_method=order["payment_method"],
        account_id=order["account_id"],
    )
    confirmed = new_message(told, source=SOURCE, aggregate_id=order["id"])
    details = {"event_id": message.id}
    await _move(tx, order, OrderStatus.CONFIRMED, details, utcnow(), announce=confirmed)


async def on_inventory_insufficient(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 3B: not enough stock; the order is cancelled (`order.cancelled`)."""
    if message.saga_id:
        await guarded.advance_saga_on_reply(tx, message)
        return
    short = message.read(InventoryInsufficient)
    order = await _order_for(tx, short.order_id)
    if order["channel"] == Channel.GUARDED:
        return  # its saga handles the answer
    if not domain.allowed(order["status"], OrderStatus.CANCELLED):
        _refused(order, OrderStatus.CANCELLED, message.type)
        return
    details = {"event_id": message.id, "items": msgspec.to_builtins(short.items)}
    await _cancel(tx, order, "insufficient_inventory", details)


async def _b2c_order_to_move(
    tx: Tx, message: Envelope, order_id: str, wanted: OrderStatus
) -> Row | None:
    """The B2C order a payment answer moves to `wanted`, or None: a saga's answer goes to
    its saga, another flow's order is not moved by it, and a move the machine does not
    allow (the order was cancelled meanwhile: payments refunds on `order.cancelled`) is
    refused and logged."""
    if message.saga_id:
        await guarded.advance_saga_on_reply(tx, message)
        return None
    order = await _order_for(tx, order_id)
    if order["channel"] != Channel.B2C:
        return None
    if not domain.allowed(order["status"], wanted):
        _refused(order, wanted, message.type)
        return None
    return order


async def on_payment_completed(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 4: paid; the order is `processing`."""
    paid = message.read(PaymentCompleted)
    details = {"event_id": message.id, "payment_id": paid.payment_id}
    if tx.dialect == "postgresql" and not message.saga_id:
        # the usual case, a B2C order waiting for its payment, without reading it first
        advance = {
            "id": paid.order_id,
            "status": OrderStatus.PROCESSING.value,
            "sources": domain.sources(OrderStatus.PROCESSING),
            "details": details,
            "at": utcnow(),
        }
        if await tx.execute(store.ADVANCE_B2C_PG, advance):
            return
    order = await _b2c_order_to_move(tx, message, paid.order_id, OrderStatus.PROCESSING)
    if order is not None:
        await _move(tx, order, OrderStatus.PROCESSING, details, utcnow())


async def on_payment_failed(tx: Tx, message: Envelope) -> None:
    """Seed 002 step 4, failure: the order is cancelled and its stock released."""
    failed = message.read(PaymentFailed)
    order = await _b2c_order_to_move(tx, message, failed.order_id, OrderStatus.CANCELLED)
    if order is not None:
        details = {"event_id": message.id, "payment_reason": failed.reason}
        await _cancel(tx, order, "payment_failed", details)


async def note_refund_on_refund_created(tx: Tx, message: Envelope) -> None:
    """Seed 002: payments refunded the order; its history says so."""
    refund = message.read(RefundCreated)
    order = await _order_for(tx, refund.order_id)
    details = {
        "event": message.type,
        "event_id": message.id,
        "refund_id": refund.refund_id,
        "amount": str(refund.amount),
    }
    await tx.execute(
        store.INSERT_HISTORY,
        {"order_id": order["id"], "status": order["status"], "details": details, "at": utcnow()},
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
