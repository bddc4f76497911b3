"""Placing an order through its sales channel's checkout flow (`domain.Channel`):
- `direct` (seed 001): the stock is held first; only then does the order exist.
- `b2c` (seed 002 Flow 3): the order is created `pending`, and events move it on
  (`handlers`).
- `guarded` (seed 003): the stock is checked through a breaker (`breaker`), the order is
  created `pending` and its saga started (`checkout_saga`); the request waits a while for
  the outcome.
- `b2b` (seed 000): the order is created `pending` on account and its saga started
  (`b2b_saga`): approval above the account's threshold, compliance, the hard reservation,
  the final price lock and the ERP's sales order; the request answers 202 at once.
"""

import asyncio
from dataclasses import replace
from datetime import date
from typing import Any

from orderly.kernel import faults
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Unavailable
from orderly.kernel.ids import new_id
from orderly.kernel.money import from_cents, money, to_cents
from orderly.kernel.principal import BUYER, Principal
from orderly.messaging import new_message
from orderly.observability import ORDERS_MOVED, ORDERS_PLACED
from orderly.ordering import (
    b2b_saga,
    breaker,
    carts,
    checkout_saga,
    domain,
    idempotency,
    products,
    queries,
    store,
)
from orderly.ordering.availability import ProductAvailability
from orderly.ordering.buyers import AccountStanding, NotABuyer, Standing, check_controlled
from orderly.ordering.commands import (
    MAX_TOTAL_CENTS,
    B2BTerms,
    OrderTooLarge,
    PaymentMethodRequired,
    Placed,
    PlaceOrder,
    ProductNotPriced,
    channel_for,
)
from orderly.ordering.domain import Channel, InsufficientStock, Line, OrderStatus
from orderly.ordering.messages import CURRENCY, SOURCE, OrderCreated, OrderLine
from orderly.ordering.policy import OrderingPolicy
from orderly.ordering.prices import LinePrice, PriceBook
from orderly.ordering.products import ProductSource, asking_catalog
from orderly.storage import Database, Tx


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
    buyer = None
    if cmd.owner.account is not None:
        buyer = await _check_buyer(standing, cmd.owner)
    if cmd.scoped_key:
        earlier = await db.read(lambda tx: _earlier_response(tx, cmd, policy))
        if earlier is not None:
            return Placed(earlier, replayed=True)
    if prices is None:
        raise Unavailable("pricing is not configured for this process")
    product_ids = [line.product_id for line in cmd.lines]
    b2b = None
    if channel is Channel.B2B:
        # compliance decides on controlled lines, with its audit record (the saga's first step)
        schedules = await products.asking_catalog(
            db, catalog, product_ids, cmd.owner.token, lambda: products.schedules(db, product_ids)
        )
        threshold = None if buyer is None else buyer.approval_threshold
        b2b = B2BTerms(schedules, None if threshold is None else to_cents(threshold))
    else:
        await check_controlled(db, standing, catalog, cmd.owner, product_ids)
    order_id = new_id()
    fallback = False
    if channel is Channel.DIRECT:
        quoted = await _hold_at_prices(availability, prices, cmd, order_id)
    elif channel is Channel.B2B:
        quoted = await prices.quote(cmd.owner, _requested(cmd))
    else:
        if not cmd.payment_method:
            raise PaymentMethodRequired(f"a {channel.value} order needs a payment_method")
        if channel is Channel.GUARDED:
            fallback = await breaker.checked(availability, _requested(cmd), cmd.owner.token)
        quoted = await prices.quote(cmd.owner, _requested(cmd))
    try:
        placed = await asking_catalog(
            db,
            catalog,
            product_ids,
            cmd.owner.token,
            lambda: _write(db, cmd, policy, order_id, quoted, reverify=fallback, b2b=b2b),
        )
    except BaseException:
        if channel is Channel.DIRECT:  # the order was not written: its hold goes
            await availability.let_go(order_id, token=cmd.owner.token)
        raise
    if placed.replayed:
        if channel is Channel.DIRECT:
            await availability.let_go(order_id, token=cmd.owner.token)
        return placed
    ORDERS_PLACED.labels(channel.value).inc()  # committed, and only once per order
    if channel is Channel.GUARDED:
        if faults.ARMED:
            faults.crash_at("checkout.committed")
        return await _await_outcome(db, cmd, policy, placed)
    if channel is Channel.B2B:  # its saga may wait days for an approver: 202, and poll
        if faults.ARMED:
            faults.crash_at("checkout.committed")
        return replace(placed, accepted_only=True)
    return placed


async def _write(
    db: Database,
    cmd: PlaceOrder,
    policy: OrderingPolicy,
    order_id: str,
    quoted: list[LinePrice | None],
    *,
    reverify: bool,
    b2b: B2BTerms | None = None,
) -> Placed:
    # An order on its own is written in one statement (on PostgreSQL), needing no
    # transaction around it; a key to claim, a cart to spend or a saga to start do.
    saga = cmd.channel in (Channel.GUARDED, Channel.B2B)
    alone = cmd.scoped_key is None and cmd.cart_id is None and not saga
    write = db.autocommit if alone else db.transaction
    try:
        return await write(
            lambda tx: _create(tx, cmd, policy, order_id, quoted, reverify=reverify, b2b=b2b)
        )
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


async def _check_buyer(standing: AccountStanding | None, caller: Principal) -> Standing:
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    now = await standing.of(caller)
    if now.disabled or now.account != caller.account or BUYER not in now.roles:
        raise NotABuyer(f"{caller.user_id} may not place orders for account {caller.account}")
    return now


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
    b2b: B2BTerms | None = None,
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
        # a saga asks inventory and payments (or compliance, pricing and the ERP) itself
        orchestrated=channel in (Channel.GUARDED, Channel.B2B),
        # the direct flow held the stock before the order was written
        held=channel is Channel.DIRECT,
    )
    created = new_message(told, source=SOURCE, aggregate_id=order_id)
    details = {"placed_by": cmd.placed_by} if cmd.placed_by else {}
    await store.place(tx, order, cmd.lines, prices, created, details)
    tx.after_commit(ORDERS_MOVED.labels(channel.value, status.value).inc)
    if channel is Channel.GUARDED:
        await checkout_saga.start(tx, policy, told, fallback=reverify)
    elif b2b is not None:
        above = (
            b2b.threshold_cents is not None and total is not None and total > b2b.threshold_cents
        )
        await b2b_saga.start(
            tx, policy, told, schedules=b2b.schedules, csos=cmd.csos, needs_approval=above
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
