"""What an external WMS tells of an order: picked, packed, shipped, delivered. Each is
taken once: told again (a WMS retries until it hears 200), it changes nothing. A lot picked
`short` of units (at most all it was sent: the report's body is refused otherwise) closes
short, and those units are backordered or cancelled from their line as on the own floor."""

from datetime import datetime
from typing import Any

from orderly.fulfillment import floor, service, store
from orderly.fulfillment.domain import InvalidTransition
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.storage import Database, Tx


async def apply(
    db: Database, rules: FulfillmentPolicy, kind: str, order_id: str, event: dict[str, Any]
) -> None:
    if kind == "delivered":
        await _delivered(db, rules, order_id, event["delivered_at"], event["delivery_location"])
        return

    async def work(tx: Tx) -> None:
        if not await tx.fetch_all(store.BY_ORDER, {"order_id": order_id}):
            raise service.ShipmentNotFound(f"no shipment of order {order_id}")
        if kind == "picked":
            await floor.record_picked(tx, rules, order_id, event["lots"])
        elif kind == "packed":
            await floor.record_packed(tx, rules, order_id, event["packages"])
        else:
            await service.record_shipped(
                tx, rules, order_id, event["carrier"], event["tracking_number"]
            )

    await db.transaction(work)


async def _delivered(
    db: Database,
    rules: FulfillmentPolicy,
    order_id: str,
    delivered_at: datetime | None,
    location: str,
) -> None:
    rows = await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))
    if not rows:
        raise service.ShipmentNotFound(f"no shipment of order {order_id}")
    if rows[0]["status"] == "DELIVERED":
        return
    try:
        await service.deliver(db, rules, rows[0]["id"], delivered_at, location)
    except InvalidTransition:
        if rows[0]["status"] != "DELIVERED":
            raise
