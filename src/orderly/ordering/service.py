"""Ordering commands and queries for the direct (seed 001) flow."""

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound, Unavailable, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.principal import BUYER, Principal
from orderly.messaging import Envelope, emit, new_message
from orderly.ordering import domain, store
from orderly.ordering.availability import ProductAvailability
from orderly.ordering.buyers import AccountStanding, NotABuyer
from orderly.ordering.domain import InsufficientStock, Line, OrderStatus
from orderly.ordering.messages import ORDER_CREATED, SOURCE
from orderly.storage import Database, Tx


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency key used for a different request"


@dataclass(frozen=True)
class PlaceOrder:
    lines: list[Line]
    shipping_address: dict[str, Any]
    owner: Principal
    idempotency_key: str | None = None

    @property
    def scoped_key(self) -> str | None:
        """Idempotency keys are the caller's own: the same key from two users never collides."""
        return f"{self.owner.user_id}:{self.idempotency_key}" if self.idempotency_key else None

    def fingerprint(self) -> str:
        canonical = orjson.dumps(
            {
                "lines": [[line.product_id, line.quantity] for line in self.lines],
                "to": self.shipping_address,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Placed:
    response: dict[str, Any]
    replayed: bool


async def place_order(
    db: Database,
    availability: ProductAvailability,
    cmd: PlaceOrder,
    standing: AccountStanding | None = None,
) -> Placed:
    """Seed 001: check availability first; only if every line is available, create the order.

    A B2B member must still be one of its account's buyers, as identity says now."""
    domain.check_lines(cmd.lines)
    if cmd.owner.account is not None:
        await _check_buyer(standing, cmd.owner)
    if cmd.scoped_key:
        earlier = await db.read(lambda tx: _earlier_response(tx, cmd))
        if earlier is not None:
            return Placed(earlier, replayed=True)
    report = await availability.check(
        [(line.product_id, line.quantity) for line in cmd.lines], token=cmd.owner.token
    )
    short = [item for item in report["items"] if not item["is_available"]]
    if short:
        raise InsufficientStock(
            f"{len(short)} product(s) are not available in the quantity requested", items=short
        )
    return await db.transaction(lambda tx: _create(tx, cmd))


async def _check_buyer(standing: AccountStanding | None, caller: Principal) -> None:
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    now = await standing.of(caller)
    if now.disabled or now.account != caller.account or BUYER not in now.roles:
        raise NotABuyer(f"{caller.user_id} may not place orders for account {caller.account}")


async def _earlier_response(tx: Tx, cmd: PlaceOrder) -> dict[str, Any] | None:
    row = await tx.fetch_one(store.GET_IDEMPOTENCY_KEY, {"key": cmd.scoped_key})
    if row is None:
        return None
    if row["fingerprint"] != cmd.fingerprint():
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different order")
    response: dict[str, Any] = row["response"]
    return response


async def _create(tx: Tx, cmd: PlaceOrder) -> Placed:
    order_id = new_id()
    status = OrderStatus.PENDING_SHIPMENT
    response = {"order_id": order_id, "status": status.value}
    now = utcnow()
    if cmd.scoped_key:
        claimed = await tx.execute(
            store.CLAIM_IDEMPOTENCY_KEY,
            {
                "key": cmd.scoped_key,
                "fingerprint": cmd.fingerprint(),
                "response": response,
                "at": now,
            },
        )
        if not claimed:  # a concurrent request with the same key won
            earlier = await _earlier_response(tx, cmd)
            assert earlier is not None
            return Placed(earlier, replayed=True)
    await tx.execute(
        store.INSERT_ORDER,
        {
            "id": order_id,
            "status": status.value,
            "shipping_address": cmd.shipping_address,
            "at": now,
            "owner_id": cmd.owner.user_id,
            "account_id": cmd.owner.account,
        },
    )
    await tx.execute_many(
        store.INSERT_ITEM,
        [
            {
                "order_id": order_id,
                "line_no": n,
                "product_id": line.product_id,
                "quantity": line.quantity,
            }
            for n, line in enumerate(cmd.lines, start=1)
        ],
    )
    await tx.execute(
        store.INSERT_HISTORY,
        {"order_id": order_id, "status": status.value, "details": {}, "at": now},
    )
    items = [{"product_id": line.product_id, "quantity": line.quantity} for line in cmd.lines]
    await emit(
        tx,
        new_message(
            ORDER_CREATED,
            {
                "order_id": order_id,
                "status": status.value,
                "items": items,
                "shipping_address": cmd.shipping_address,
                "customer_id": cmd.owner.user_id,
                "account_id": cmd.owner.account,
            },
            source=SOURCE,
            aggregate_id=order_id,
        ),
    )
    return Placed(response, replayed=False)


async def get_order(db: Database, caller: Principal, order_id: str) -> dict[str, Any]:
    """An order its owner (or account, or an operator) may see; to anyone else it does not exist."""

    async def work(tx: Tx) -> dict[str, Any]:
        order = await tx.fetch_one(store.GET_ORDER, {"id": order_id})
        if order is None or not caller.may_see(order["owner_id"], order["account_id"]):
            raise OrderNotFound(f"order {order_id} does not exist")
        items = await tx.fetch_all(store.GET_ITEMS, {"id": order_id})
        history = await tx.fetch_all(store.GET_HISTORY, {"id": order_id})
        return {
            "order_id": order["id"],
            "status": order["status"],
            "items": [dict(item) for item in items],
            "shipping_address": order["shipping_address"],
            "created_at": order["created_at"],
            "updated_at": order["updated_at"],
            "history": [
                {"status": h["status"], "at": h["at"], "details": h["details"]} for h in history
            ],
        }

    return await db.read(work)


async def list_orders(
    db: Database, caller: Principal, limit: int, offset: int
) -> list[dict[str, Any]]:
    page = {"limit": limit, "offset": offset}
    if caller.is_operator:
        rows = await db.read(lambda tx: tx.fetch_all(store.LIST_ORDERS, page))
    else:
        mine = {**page, "owner_id": caller.user_id, "account_id": caller.account}
        rows = await db.read(lambda tx: tx.fetch_all(store.LIST_OWN_ORDERS, mine))
    return [
        {
            "order_id": r["id"],
            "status": r["status"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]


async def apply_status_update_on_order_status_updated(tx: Tx, message: Envelope) -> None:
    """Delivery reported progress (seed 001 `order.status_updated`): move the order forward."""
    data = message.data
    order = await tx.fetch_one(store.GET_ORDER, {"id": data["order_id"]})
    if order is None:
        raise OrderNotFound(f"order {data['order_id']} does not exist")
    new = domain.delivery_transition(order["status"], data["current_status"])
    if new is None:
        return
    now = utcnow()
    changed = await tx.execute(
        store.UPDATE_STATUS,
        {"id": order["id"], "status": new.value, "at": now, "version": order["version"]},
    )
    if not changed:
        raise RuntimeError(f"order {order['id']} changed concurrently; retrying")
    details = {k: v for k, v in data.items() if k not in {"order_id", "current_status"}}
    details["event_id"] = message.id
    await tx.execute(
        store.INSERT_HISTORY,
        {"order_id": order["id"], "status": new.value, "details": details, "at": now},
    )
