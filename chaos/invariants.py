"""What must hold once the faults stop and the cluster is quiet, checked from the contexts'
databases, their event logs (outbox, inbox, dead letters) and the simulators' own counts.
Each check returns its violations, each a line an engineer can follow up; none is allowed."""

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chaos.load import Attempt
from orderly.messaging.envelope import decode_envelope
from orderly.messaging.routing import Subscription, Topology, matches

Rows = Sequence[Mapping[str, Any]]  # a query's rows (asyncpg's records)
TERMINAL_SAGAS = {"completed", "compensated", "stuck"}  # stuck: an operator's, and shown


@dataclass(frozen=True)
class Check:
    name: str
    says: str
    violations: list[str]


@dataclass(frozen=True)
class Seen:
    """What the simulators and the mail server counted."""

    payments: list[dict[str, Any]]  # the payment simulator's movements
    sales_orders: list[dict[str, Any]]  # the ERP simulator's
    mail_ids: list[str]  # the Message-ID of every mail the SMTP server received


async def check_all(
    database_url: str,
    topology: Topology,
    attempts: list[Attempt],
    stock: dict[str, int],
    seen: Seen,
) -> list[Check]:
    connection = await asyncpg.connect(database_url)
    try:
        orders = await connection.fetch(
            "SELECT id, status, channel, shipping_address::jsonb->>'line2' AS attempt"
            " FROM ordering.orders WHERE shipping_address::jsonb->>'line2' LIKE 'chaos:%'"
        )
        payments = await connection.fetch("SELECT order_id, auth_ref FROM payments.payments")
        lots = await connection.fetch(
            "SELECT id, product_id, on_hand, reserved FROM inventory.lots"
            " WHERE product_id = ANY($1::text[])",
            list(stock),
        )
        reservations = await connection.fetch(
            "SELECT status, allocations::text AS allocations FROM inventory.reservations"
            " WHERE kind = 'hard' AND product_id = ANY($1::text[])",
            list(stock),
        )
        sagas = await connection.fetch(
            "SELECT id, kind, state, id AS order_id FROM ordering.sagas"
            " WHERE state <> ALL($1::text[])",
            list(TERMINAL_SAGAS),
        )
        holds = await connection.fetch(
            "SELECT order_id FROM compliance.compliance_holds WHERE status = 'open'"
        )
        letters = await _dead_letters(connection)
        events = await _events(connection, topology)
    finally:
        await connection.close()
    return [
        lost_orders(attempts, orders),
        orders_made_twice(attempts, orders),
        *money(payments, seen.payments),
        sales_orders_made_twice(seen.sales_orders),
        mails_sent_twice(seen.mail_ids),
        stock_conservation(stock, lots, reservations),
        open_sagas(
            sagas,
            letters,
            {row["id"] for row in orders if row["status"] in {"on_hold", "awaiting_approval"}},
        ),
        stuck_orders(orders),
        hidden_holds(orders, holds),
        *events,
    ]


def lost_orders(attempts: list[Attempt], orders: Rows) -> Check:
    made = {row["id"] for row in orders}
    lost = [
        f"attempt {a.id} ({a.kind}) was accepted as order {a.order_id}, which does not exist"
        for a in attempts
        if a.outcome == "accepted" and a.order_id not in made
    ]
    return Check("accepted_order_lost", "no accepted order lost", lost)


def orders_made_twice(attempts: list[Attempt], orders: Rows) -> Check:
    by_attempt: dict[str, list[str]] = defaultdict(list)
    for row in orders:
        by_attempt[row["attempt"].removeprefix("chaos:")].append(row["id"])
    twice = [
        f"attempt {attempt} made orders {', '.join(ids)}"
        for attempt, ids in by_attempt.items()
        if len(ids) > 1
    ]
    for a in attempts:  # the client was told one order, and another exists for its attempt
        made = by_attempt.get(a.id, [])
        if a.outcome == "accepted" and made and a.order_id not in made:
            twice.append(f"attempt {a.id} was told order {a.order_id}, made {made}")
    return Check("order_created_twice", "no order created twice", twice)


def money(payments: Rows, movements: list[dict[str, Any]]) -> list[Check]:
    """From the gateway's own ledger: each order's money captured at most once and refunded at
    most once, never more than was captured."""
    order_of = {row["auth_ref"]: row["order_id"] for row in payments if row["auth_ref"]}
    captures: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refunds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for move in movements:
        order = order_of.get(move["reference"], f"(no order: {move['reference']})")
        if move["kind"] == "capture":
            captures[order].append(move)
        elif move["kind"] == "refund":
            refunds[order].append(move)
    charged = [
        f"order {order} captured {len(moves)} times ({sum(m['cents'] for m in moves)} cents)"
        for order, moves in captures.items()
        if len(moves) > 1
    ]
    refunded = [
        f"order {order} refunded {len(moves)} times"
        for order, moves in refunds.items()
        if len(moves) > 1
    ]
    refunded += [
        f"order {order} refunded {sum(m['cents'] for m in moves)} cents of"
        f" {sum(m['cents'] for m in captures.get(order, []))} captured"
        for order, moves in refunds.items()
        if sum(m["cents"] for m in moves) > sum(m["cents"] for m in captures.get(order, []))
    ]
    return [
        Check("duplicate_charge", "no order charged twice (the gateway's ledger)", charged),
        Check("duplicate_refund", "no order refunded twice (the gateway's ledger)", refunded),
    ]


def sales_orders_made_twice(sales_orders: list[dict[str, Any]]) -> Check:
    made = Counter(
        str(entry["request"].get("PurchaseOrderByCustomer", "")) for entry in sales_orders
    )
    twice = [f"order {order} has {n} sales orders" for order, n in made.items() if n > 1]
    return Check("duplicate_sales_order", "no sales order made twice (the ERP's count)", twice)


def mails_sent_twice(mail_ids: list[str]) -> Check:
    twice = [f"mail {mail} received {n} times" for mail, n in Counter(mail_ids).items() if n > 1]
    return Check("duplicate_mail", "no mail sent twice (the SMTP server's count)", twice)


def stock_conservation(stock: dict[str, int], lots: Rows, reservations: Rows) -> Check:
    """received = on hand + shipped (picked) per product; per lot, reserved is what the live
    hard reservations hold of it, and nothing is negative or reserved beyond what is there."""
    reserved_on: Counter[str] = Counter()
    picked_of: Counter[str] = Counter()
    lot_product = {row["id"]: row["product_id"] for row in lots}
    for row in reservations:
        for allocation in json.loads(row["allocations"] or "[]"):
            lot, quantity = str(allocation["lotId"]), int(allocation["quantity"])
            if row["status"] == "live":
                reserved_on[lot] += quantity
            elif row["status"] == "picked":
                picked_of[lot_product.get(lot, lot)] += quantity
    violations = []
    on_hand: Counter[str] = Counter()
    for row in lots:
        on_hand[row["product_id"]] += row["on_hand"]
        if row["on_hand"] < 0 or row["reserved"] < 0 or row["reserved"] > row["on_hand"]:
            violations.append(
                f"lot {row['id']}: on hand {row['on_hand']}, reserved {row['reserved']}"
            )
        if row["reserved"] != reserved_on[row["id"]]:
            violations.append(
                f"lot {row['id']}: reserved {row['reserved']}, its live reservations hold"
                f" {reserved_on[row['id']]}"
            )
    for product, received in stock.items():
        if received != on_hand[product] + picked_of[product]:
            violations.append(
                f"product {product}: received {received} != on hand {on_hand[product]}"
                f" + shipped {picked_of[product]}"
            )
    return Check(
        "stock_not_conserved",
        "received = on hand + reserved + shipped, per product and lot; never negative",
        violations,
    )


def open_sagas(sagas: Rows, letters: set[str], waiting: set[str]) -> Check:
    """`waiting`: the orders an analyst or an approver has to decide (their sagas wait)."""
    open_ = [
        f"{row['kind']} saga {row['id']} of order {row['order_id']} is {row['state']}"
        for row in sagas
        if row["order_id"] not in letters and row["order_id"] not in waiting
    ]
    return Check("saga_not_terminal", "every saga terminal, or its dead letter shown", open_)


def stuck_orders(orders: Rows) -> Check:
    """Pending is never a resting state; confirmed is not for a card checkout, which waits
    there only for its payment."""
    stuck = [
        f"order {row['id']} ({row['channel']}) is {row['status']}"
        for row in orders
        if row["status"] == "pending"
        or (row["status"] == "confirmed" and row["channel"] in {"b2c", "guarded"})
    ]
    return Check("order_stuck", "no order left waiting on a step that ended", stuck)


def hidden_holds(orders: Rows, holds: Rows) -> Check:
    held = {row["order_id"] for row in holds}
    hidden = [
        f"order {row['id']} is on hold with no open hold an analyst can see"
        for row in orders
        if row["status"] == "on_hold" and row["id"] not in held
    ]
    return Check("hold_not_visible", "every hold visible", hidden)


async def _schemas(connection: asyncpg.Connection, table: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = $1", table
    )
    return sorted(row["table_schema"] for row in rows)


async def _dead_letters(connection: asyncpg.Connection) -> set[str]:
    """The orders an operator sees a dead letter of."""
    named: set[str] = set()
    for schema in await _schemas(connection, "dead_letters"):
        for row in await connection.fetch(f'SELECT envelope FROM "{schema}".dead_letters'):
            data = decode_envelope(row["envelope"]).data
            for key in ("orderId", "order_id"):
                if isinstance(data, dict) and key in data:
                    named.add(str(data[key]))
    return named


def _carries(topology: Topology, subscribed: str, message_type: str) -> bool:
    if subscribed in topology.topics:
        return message_type in topology.carried_by(subscribed)
    return matches(subscribed, message_type)


async def _events(connection: asyncpg.Connection, topology: Topology) -> list[Check]:
    """Every published event taken, once, by every consumer it concerns (its inbox row, the
    row of the table it keeps its own record in, or its dead letter); none left unpublished,
    none left waiting to be tried again."""
    handled: set[tuple[str, str]] = set()
    lettered: set[tuple[str, str]] = set()
    unpublished: list[str] = []
    retrying: list[str] = []
    for schema in await _schemas(connection, "inbox"):
        rows = await connection.fetch(f'SELECT consumer, message_id FROM "{schema}".inbox')
        handled |= {(row["consumer"], row["message_id"]) for row in rows}
        rows = await connection.fetch(f'SELECT consumer, message_id FROM "{schema}".dead_letters')
        lettered |= {(row["consumer"], row["message_id"]) for row in rows}
        rows = await connection.fetch(
            f'SELECT consumer, message_id, type FROM "{schema}".message_retries'
        )
        retrying += [f"{row['consumer']} is still to retry {row['type']}" for row in rows]
    for subscription in topology.subscriptions:
        if subscription.deduplicates:  # what it took in is in its own table, not the inbox
            table = subscription.deduplicates
            for schema in await _schemas(connection, table):
                rows = await connection.fetch(f'SELECT DISTINCT message_id FROM "{schema}".{table}')
                handled |= {(subscription.consumer, row["message_id"]) for row in rows}
    missed: list[str] = []
    consumers: dict[str, list[Subscription]] = {}
    for schema in await _schemas(connection, "outbox"):
        rows = await connection.fetch(
            f'SELECT message_id, type, envelope, published_at FROM "{schema}".outbox'
        )
        for row in rows:
            if row["published_at"] is None:
                unpublished.append(f"{schema}: {row['type']} {row['message_id']}")
                continue
            message = None
            if row["type"] not in consumers:
                consumers[row["type"]] = _subscribers(topology, row["type"])
            for subscription in consumers[row["type"]]:
                if subscription.concerns is not None:
                    message = message or decode_envelope(row["envelope"])
                    if not subscription.concerns(message):
                        continue
                key = (subscription.consumer, row["message_id"])
                if key not in handled and key not in lettered:
                    missed.append(f"{subscription.consumer} never took {row['type']} {key[1]}")
    return [
        Check("event_unpublished", "every committed event published", unpublished),
        Check("event_not_consumed", "every published event consumed (or dead-lettered)", missed),
        Check("retry_left", "no message left waiting for a retry", retrying),
    ]


def _subscribers(topology: Topology, message_type: str) -> list[Subscription]:
    """Every consumer of `message_type`: each hears it from every context that publishes it."""
    return [
        subscription
        for subscription in topology.subscriptions
        if any(_carries(topology, subscribed, message_type) for subscribed in subscription.types)
    ]
