"""Carts (seed 000): a customer's one open cart. Adding or changing a line publishes
`cart.item.added` with the line's new quantity and how much of it to hold, and inventory
holds that many units for a while (a soft reservation); removing it publishes
`cart.item.removed`. Checking out turns the cart into an order through the caller's checkout
flow, and the holds into the order's.

A line is refused at once when it asks for more than the caller can have (ATP and what its
cart holds already), or for a controlled substance the caller may not buy. A cart whose
order is cancelled before it is paid comes back (`restore`)."""

import asyncio
from dataclasses import dataclass
from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.messaging import Message, emit, new_message
from orderly.ordering import store
from orderly.ordering.availability import ProductAvailability, UnknownProduct
from orderly.ordering.buyers import AccountStanding, check_controlled
from orderly.ordering.domain import Line
from orderly.ordering.messages import CURRENCY, SOURCE, CartItemAdded, CartItemRemoved
from orderly.ordering.policy import HoldLimits
from orderly.ordering.prices import LinePrice, PriceBook
from orderly.storage import Database, Row, Tx


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    title = "Product not in the cart"


class CartEmpty(Unprocessable):
    code = "cart_empty"
    title = "The cart is empty"


class NotInStock(Conflict):
    """A cart line past what the caller can have: unlike an order's short lines (seed 001's
    400), a conflict with the stock as it is now, which the same request may pass later."""

    code = "insufficient_stock"
    title = "Not that much in stock"


class CartCheckedOut(Conflict):
    code = "cart_checked_out"
    title = "The cart was checked out already"


async def _open_cart(tx: Tx, caller: Principal) -> Row:
    """The caller's open cart, made on first use."""
    cart = await tx.fetch_one(store.OPEN_CART, {"owner_id": caller.user_id})
    if cart is None:
        await tx.execute(
            store.NEW_CART,
            {
                "id": new_id(),
                "owner_id": caller.user_id,
                "account_id": caller.account,
                "segment": caller.segment,
                "at": utcnow(),
            },
        )
        cart = await tx.fetch_one(store.OPEN_CART, {"owner_id": caller.user_id})
    assert cart is not None
    return cart


async def _announce(
    tx: Tx, cart_id: str, product_id: str, quantity: int, caller: Principal, limits: HoldLimits
) -> None:
    told: Message
    if quantity:
        told = CartItemAdded(
            cart_id=cart_id,
            product_id=product_id,
            quantity=quantity,
            hold=min(quantity, limits.of(caller)),
            customer_id=caller.user_id,
            account_id=caller.account,
        )
    else:
        told = CartItemRemoved(cart_id=cart_id, product_id=product_id)
    await emit(tx, new_message(told, source=SOURCE, aggregate_id=cart_id))


@dataclass(frozen=True)
class Checks:
    """What a line is checked against before it is written: stock, and who may buy what."""

    availability: ProductAvailability
    standing: AccountStanding | None


async def add_item(
    db: Database,
    caller: Principal,
    product_id: str,
    quantity: int,
    checks: Checks,
    limits: HoldLimits,
) -> str:
    """Add `quantity` units to the product's line (made if new); the cart's id."""
    await check_controlled(db, checks.standing, None, caller, [product_id])
    cart_id, had = await db.read(lambda tx: _line(tx, caller, product_id))
    await _within_stock(checks.availability, caller, cart_id, product_id, had, had + quantity)

    async def work(tx: Tx) -> str:
        if await tx.fetch_one(store.GET_PRODUCT, {"product_id": product_id}) is None:
            raise UnknownProduct(f"product {product_id} does not exist", product_ids=[product_id])
        cart = await _open_cart(tx, caller)
        line = await tx.fetch_one(
            store.CART_ITEM, {"cart_id": cart["id"], "product_id": product_id}
        )
        total = quantity + (int(line["quantity"]) if line else 0)
        await _set_line(tx, cart["id"], product_id, total, caller, limits)
        return str(cart["id"])

    return await db.transaction(work)


async def set_quantity(
    db: Database,
    caller: Principal,
    product_id: str,
    quantity: int,
    checks: Checks | None,
    limits: HoldLimits,
) -> None:
    """Change a line's quantity; 0 removes it (unchecked: a line may always go)."""
    cart_id, had = await db.read(lambda tx: _line(tx, caller, product_id))
    if cart_id is None or not had:
        raise CartItemNotFound(f"product {product_id} is not in the cart")
    if quantity and checks is not None:
        await check_controlled(db, checks.standing, None, caller, [product_id])
        await _within_stock(checks.availability, caller, cart_id, product_id, had, quantity)

    async def work(tx: Tx) -> None:
        cart = await _open_cart(tx, caller)
        key = {"cart_id": cart["id"], "product_id": product_id}
        if await tx.fetch_one(store.CART_ITEM, key) is None:
            raise CartItemNotFound(f"product {product_id} is not in the cart")
        if quantity:
            await _set_line(tx, cart["id"], product_id, quantity, caller, limits)
        else:
            await tx.execute(store.DELETE_CART_ITEM, key)
            await _announce(tx, cart["id"], product_id, 0, caller, limits)

    await db.transaction(work)


async def _line(tx: Tx, caller: Principal, product_id: str) -> tuple[str | None, int]:
    """The caller's open cart (None: none yet) and its quantity of the product (0: none)."""
    cart = await tx.fetch_one(store.OPEN_CART, {"owner_id": caller.user_id})
    if cart is None:
        return None, 0
    line = await tx.fetch_one(store.CART_ITEM, {"cart_id": cart["id"], "product_id": product_id})
    return cart["id"], int(line["quantity"]) if line else 0


async def _within_stock(
    availability: ProductAvailability,
    caller: Principal,
    cart_id: str | None,
    product_id: str,
    had: int,
    wanted: int,
) -> None:
    """Refuse a line raised past what the caller can have: ATP, and what its cart holds of
    the product already. Lowering a line is never refused for stock."""
    if wanted <= had:
        return
    try:
        report = await availability.check(
            [(product_id, wanted)], token=caller.token, cart=cart_id or ""
        )
    except UnknownProduct:  # catalog has it (it was copied), inventory stocks none yet
        can_have = 0
    else:
        item = report["items"][0]
        can_have = int(item["available"]) + int(item.get("held", 0))
    if wanted > can_have:
        raise NotInStock(
            f"{can_have} unit(s) of product {product_id} can be had now, not {wanted}",
            items=[{"product_id": product_id, "requested": wanted, "available": can_have}],
        )


async def _set_line(
    tx: Tx, cart_id: str, product_id: str, quantity: int, caller: Principal, limits: HoldLimits
) -> None:
    now = utcnow()
    await tx.execute(
        store.UPSERT_CART_ITEM,
        {"cart_id": cart_id, "product_id": product_id, "quantity": quantity, "at": now},
    )
    await tx.execute(store.TOUCH_CART, {"id": cart_id, "at": now})
    await _announce(tx, cart_id, product_id, quantity, caller, limits)


async def view(
    db: Database,
    caller: Principal,
    availability: ProductAvailability,
    prices: PriceBook,
    limits: HoldLimits,
) -> dict[str, Any]:
    """The cart at the caller's own prices today (what its checkout would charge), with what
    is available to promise for each line, and how much of it inventory will hold once it has
    heard of it (`hold`: the line, up to the caller's hold limit and to what it can have,
    `available` + `held`)."""

    async def work(tx: Tx) -> tuple[str | None, list[Row]]:
        cart = await tx.fetch_one(store.OPEN_CART, {"owner_id": caller.user_id})
        if cart is None:
            return None, []
        return cart["id"], await tx.fetch_all(store.CART_ITEMS, {"cart_id": cart["id"]})

    cart_id, rows = await db.read(work)
    available: dict[str, int] = {}
    held: dict[str, int] = {}
    held_until: dict[str, str | None] = {}
    quoted: list[LinePrice | None] = []
    if rows:
        requested = [(r["product_id"], int(r["quantity"])) for r in rows]
        report, quoted = await asyncio.gather(
            availability.check(requested, token=caller.token, cart=str(cart_id)),
            prices.quote(caller, requested),
        )
        for item in report["items"]:
            available[item["product_id"]] = int(item["available"])
            held[item["product_id"]] = int(item.get("held", 0))
            held_until[item["product_id"]] = item.get("held_until")
    items = []
    total: int | None = 0
    limit = limits.of(caller)
    for row, quote in zip(rows, quoted, strict=True):
        price = None if quote is None else quote.cents
        line_total = None if price is None else int(price) * int(row["quantity"])
        total = None if total is None or line_total is None else total + line_total
        items.append(
            {
                "product_id": row["product_id"],
                "name": row["name"],
                "sku": row["sku"],
                "quantity": int(row["quantity"]),
                "unit_price": money(price),
                "line_total": money(line_total),
                "held": held.get(row["product_id"], 0),
                "held_until": held_until.get(row["product_id"]),
                "available": available.get(row["product_id"], 0),
            }
        )
        line = items[-1]
        line["hold"] = min(line["quantity"], limit, line["available"] + line["held"])
    return {"cart_id": cart_id, "items": items, "total": money(total), "currency": CURRENCY}


async def lines(db: Database, caller: Principal) -> tuple[str, list[Line]]:
    """The open cart's id and lines, for checkout; an empty cart cannot be checked out."""

    async def work(tx: Tx) -> tuple[str | None, list[Row]]:
        cart = await tx.fetch_one(store.OPEN_CART, {"owner_id": caller.user_id})
        if cart is None:
            return None, []
        return cart["id"], await tx.fetch_all(store.CART_ITEMS, {"cart_id": cart["id"]})

    cart_id, rows = await db.read(work)
    if cart_id is None or not rows:
        raise CartEmpty("add products to the cart before checking out")
    return cart_id, [Line(r["product_id"], int(r["quantity"])) for r in rows]


async def check_out(tx: Tx, cart_id: str, order_id: str) -> None:
    """In the order's transaction: the cart is spent (a second checkout of it is refused)."""
    if not await tx.execute(
        store.CHECK_OUT_CART, {"id": cart_id, "order_id": order_id, "at": utcnow()}
    ):
        raise CartCheckedOut(f"cart {cart_id} was checked out already")


async def restore(tx: Tx, cart_id: str, order_id: str, limits: HoldLimits) -> None:
    """The order checked out from the cart was cancelled before it was paid: in its
    transaction, the cart's lines come back to its owner's open cart (a new one, or the one
    the owner has started since, whose own lines win where both have a product). The spent
    cart's holds go, and the lines hold anew."""
    spent = await tx.fetch_one(store.SPENT_CART, {"id": cart_id, "order_id": order_id})
    if spent is None:
        return
    owner = Principal(
        spent["owner_id"], "", (), account=spent["account_id"], segment=spent["segment"]
    )
    cart = await _open_cart(tx, owner)
    newer = {r["product_id"] for r in await tx.fetch_all(store.CART_ITEMS, {"cart_id": cart["id"]})}
    for line in await tx.fetch_all(store.CART_ITEMS, {"cart_id": cart_id}):
        await _announce(tx, cart_id, line["product_id"], 0, owner, limits)
        if line["product_id"] not in newer:
            quantity = int(line["quantity"])
            await _set_line(tx, cart["id"], line["product_id"], quantity, owner, limits)
