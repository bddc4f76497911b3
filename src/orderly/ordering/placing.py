"""Placing an order through its sales channel's checkout flow (`domain.Channel`):
- `direct` (seed 001): the stock is held first; only then does the order exist.
- `b2c` (seed 002 Flow 3): the order is created `pending`, and events move it on
  (`handlers`).
- `guarded` (seed 003): the stock is checked through a breaker (`breaker`), the order is
  created `pending` and its saga started (`checkout_saga`); the request waits a while for
  the outcome.
"""

import asyncio
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import orjson

from orderly.kernel import faults
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError, Unavailable, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, money
from orderly.kernel.principal import BUYER, Principal
from orderly.messaging import new_message
from orderly.ordering import breaker, carts, checkout_saga, domain, idempotency, queries, store
from orderly.ordering.availability import ProductAvailability
from orderly.ordering.buyers import AccountStanding, NotABuyer, check_controlled
from orderly.ordering.domain import Channel, InsufficientStock, Line, OrderStatus
from orderly.ordering.messages import CURRENCY, SOURCE, OrderCreated, OrderLine
from orderly.ordering.policy import Channels, OrderingPolicy
from orderly.ordering.prices import LinePrice, PriceBook
from orderly.ordering.products import ProductSource, asking_catalog
from orderly.storage import Database, Tx


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


def channel_for(channels: Channels, caller: Principal, asked: Channel | None) -> Channel:
    """The flow an order takes: the one asked for, or the deployment's default, if the
    caller's kind (an account's member, or a consumer) may use it."""
    allowed = channels.account if caller.account else channels.consumer
    if asked is None:  # the default, or else the first flow this kind of caller may use
        asked = channels.default
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
    policy: OrderingPolicy,
    standing: AccountStanding | None = None,
    catalog: ProductSource | None = None,
    prices: PriceBook | None = None,
) -> Placed:
    """Place an order through its channel's flow, at the caller's own prices (`prices`); a
    repeated Idempotency-Key answers what the first request did and never makes a second
    order. A product ordering has not heard of yet is asked of `catalog` before the order
    is refused."""
    domain.check_lines(cmd.lines)
    cmd = replace(cmd, channel=channel_for(policy.channels, cmd.owner, cmd.channel))
    channel = cmd.channel
    assert channel is not None
    if cmd.owner.account is not None:
        await _check_buyer(standing, cmd.owner)
    if cmd.scoped_key:
        earlier = await db.read(lambda tx: _earlier_response(tx, cmd, policy))
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
            fallback = await breaker.checked(availability, _requested(cmd), cmd.owner.token)
        quoted = await prices.quote(cmd.owner, _requested(cmd))
    product_ids = [line.product_id for line in cmd.lines]
    try:
        placed = await asking_catalog(
            db,
            catalog,
            product_ids,
            cmd.owner.token,
            lambda: _write(db, cmd, policy, order_id, quoted, reverify=fallback),
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
        return await _await_outcome(db, cmd, policy, placed)
    return placed


async def _write(
    db: Database,
    cmd: PlaceOrder,
    policy: OrderingPolicy,
    order_id: str,
    quoted: list[LinePrice | None],
    *,
    reverify: bool,
) -> Placed:
    # An order on its own is written in one statement (on PostgreSQL), needing no
    # transaction around it; a key to claim, a cart to spend or a saga to start do.
    alone = cmd.scoped_key is None and cmd.cart_id is None and cmd.channel is not Channel.GUARDED
    write = db.autocommit if alone else db.transaction
    try:
        return await write(lambda tx: _create(tx, cmd, policy, order_id, quoted, reverify=reverify))
    except idempotency.Replayed as replay:  # a concurrent request with the same key won
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


async def _await_outcome(
    db: Database, cmd: PlaceOrder, policy: OrderingPolicy, placed: Placed
) -> Placed:
    """Seed 003: the request waits for PLACED or PAYMENT_FAILED, up to the deployment's
    wait; then it answers 202 and the client polls. An Idempotency-Key answers the same
    from then on."""
    order_id = placed.response["order_id"]
    final = await queries.outcome(db, order_id, policy.timing.wait)
    response = final or placed.response
    if cmd.scoped_key:
        await idempotency.answer(db, cmd.scoped_key, response)
    return Placed(response, replayed=False, accepted_only=final is None)


async def earlier_checkout(db: Database, cmd: PlaceOrder, policy: OrderingPolicy) -> Placed | None:
    """What a cart checkout with this Idempotency-Key answered before, if it was made
    (its cart is spent by then, so this is asked first)."""
    cmd = replace(cmd, channel=channel_for(policy.channels, cmd.owner, cmd.channel))
    if not cmd.scoped_key:
        return None
    earlier = await db.read(lambda tx: _earlier_response(tx, cmd, policy))
    return None if earlier is None else Placed(earlier, replayed=True)


async def _earlier_response(
    tx: Tx, cmd: PlaceOrder, policy: OrderingPolicy
) -> dict[str, Any] | None:
    return await idempotency.earlier_response(
        tx, cmd.scoped_key, cmd.fingerprint(), policy.timing.wait
    )


async def _check_buyer(standing: AccountStanding | None, caller: Principal) -> None:
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    now = await standing.of(caller)
    if now.disabled or now.account != caller.account or BUYER not in now.roles:
        raise NotABuyer(f"{caller.user_id} may not place orders for account {caller.account}")


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
    policy: OrderingPolicy,
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
        wait = policy.timing.wait
        await idempotency.claim(tx, cmd.scoped_key, cmd.fingerprint(), answer, order_id, now, wait)
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
    await store.place(tx, order, cmd.lines, prices, created)
    if channel is Channel.GUARDED:
        await checkout_saga.start(tx, policy, told, fallback=reverify)
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
