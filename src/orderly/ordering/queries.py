"""Reading orders: one order as whoever may see it sees it, and a checkout's outcome."""

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from orderly.kernel.errors import NotFound
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.ordering import domain, store
from orderly.ordering.domain import Order
from orderly.ordering.messages import CURRENCY
from orderly.storage import Database, Row, Tx
from orderly.storage.cache import Shelf


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


async def get_order(
    db: Database, caller: Principal, order_id: str, cache: Shelf | None = None
) -> dict[str, Any]:
    """An order its owner (or account, or an operator) may see; to anyone else it does not exist.

    With `cache`, the order's row is read every time (who may see it, its status), and its
    lines and history are kept under the order's id and its number of history entries:
    lines never change and history is only added to, so an entry is never out of date and
    no change to the order has to invalidate it."""

    async def work(tx: Tx) -> dict[str, Any]:
        return await view(tx, await visible(tx, caller, order_id))

    if cache is None:
        return await db.read(work)
    order = await store.order_and_entries(db, order_id)
    if order is None or not caller.may_see(order["owner_id"], order["account_id"]):
        raise OrderNotFound(f"order {order_id} does not exist")
    key = f"{order_id}:{order['entries']}"
    kept, ticket = await cache.get(key)
    if kept is None:
        kept = await db.read(partial(_lines_and_history, order_id=order_id))
        if len(kept["history"]) != order["entries"]:  # it moved since: read it whole
            return await db.read(work)
        await cache.put(key, kept, ticket)
    else:
        for entry in kept["history"]:
            entry["at"] = datetime.fromisoformat(entry["at"])
    return shown(order, kept["items"], kept["history"])


async def _lines_and_history(tx: Tx, order_id: str) -> dict[str, list[dict[str, Any]]]:
    items = await tx.fetch_all(store.GET_ITEMS, {"id": order_id})
    history = await tx.fetch_all(store.GET_HISTORY, {"id": order_id})
    return {"items": [dict(item) for item in items], "history": [dict(h) for h in history]}


async def view(tx: Tx, order: Row) -> dict[str, Any]:
    """The order (its row) with its lines and its history, as its flow's endpoints show it."""
    items = await tx.fetch_all(store.GET_ITEMS, {"id": order["id"]})
    history = await tx.fetch_all(store.GET_HISTORY, {"id": order["id"]})
    return shown(order, items, history)


def shown(order: Row, items: Sequence[Row], history: Sequence[Row]) -> dict[str, Any]:
    """The order's row, lines and history entries as `view` shows them."""
    channel = order["channel"]
    b2b = {}
    if channel == domain.Channel.B2B:
        b2b = {
            "account_id": order["account_id"],
            "sales_order_number": order["sales_order_number"],
            "failure": order["failure"],
        }
    return b2b | {
        "order_id": order["id"],
        "user_id": order["owner_id"],
        "status": domain.word(channel, order["status"]),
        "channel": channel,
        "total_amount": money(order["total_cents"]),
        "currency": order["currency"] or CURRENCY,
        "items": [item_view(item) for item in items],
        "shipping_address": order["shipping_address"],
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "history": [history_view(channel, entry) for entry in history],
    }


def item_view(item: Row) -> dict[str, Any]:
    """An order's line (its row of `order_items`)."""
    return {
        "product_id": item["product_id"],
        "quantity": item["quantity"],
        "unit_price": money(item["unit_price_cents"]),
    }


def history_view(channel: str, entry: Row) -> dict[str, Any]:
    """An entry of the history of an order of `channel`, in its flow's words."""
    return {
        "status": domain.word(channel, entry["status"]),
        "at": entry["at"],
        "details": entry["details"],
    }


async def visible(tx: Tx, caller: Principal, order_id: str) -> Row:
    order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
    if order is None or not caller.may_see(order["owner_id"], order["account_id"]):
        raise OrderNotFound(f"order {order_id} does not exist")
    return order


async def order_for(tx: Tx, order_id: str) -> Order:
    """The order a message or a saga names."""
    order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
    if order is None:  # not yet here, or never: tried again, then dead-lettered
        raise OrderNotFound(f"order {order_id} does not exist")
    return Order.of(order)


async def outcome(db: Database, order_id: str, wait: float) -> dict[str, Any] | None:
    """The order once its saga has ended, or None if it has not within `wait` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    pause = 0.005
    while True:
        row = await db.read(lambda tx: tx.fetch_one(store.GET_ORDER, {"id": order_id}))
        assert row is not None
        order = Order.of(row)
        if order.status not in domain.UNDER_WAY:
            return order.summary()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
