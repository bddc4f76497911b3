"""Shipment rules: a shipment is pending, then shipped, then delivered, in that order only.

A shipment of an order still to be paid waits `ON_HOLD` until the payment completes; one
whose order is cancelled before it ships is `CANCELLED`."""

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from orderly.kernel.errors import Conflict


class ShipmentStatus(StrEnum):
    PENDING_SHIPMENT = "PENDING_SHIPMENT"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    ON_HOLD = "ON_HOLD"
    CANCELLED = "CANCELLED"


# Shipments the warehouse has not sent yet: these a cancelled order takes back.
UNSHIPPED = (ShipmentStatus.ON_HOLD, ShipmentStatus.PENDING_SHIPMENT)


_NEXT = {
    ShipmentStatus.ON_HOLD: ShipmentStatus.PENDING_SHIPMENT,
    ShipmentStatus.PENDING_SHIPMENT: ShipmentStatus.SHIPPED,
    ShipmentStatus.SHIPPED: ShipmentStatus.DELIVERED,
}


class InvalidTransition(Conflict):
    code = "invalid_shipment_transition"
    title = "Shipment cannot make that move"


def advance(current: str, wanted: ShipmentStatus) -> ShipmentStatus:
    if _NEXT.get(ShipmentStatus(current)) is not wanted:
        raise InvalidTransition(
            f"a {current} shipment cannot become {wanted.value}", shipment_status=current
        )
    return wanted


class BackorderStatus(StrEnum):
    """A backorder waits `OPEN` for stock; released, it is reserved and goes through the
    floor as a shipment of its own, and is `FULFILLED` once the carrier takes it. One whose
    release found no stock is `OPEN` again; an operator (or the order's cancellation) may
    cancel an open one."""

    OPEN = "OPEN"
    RELEASED = "RELEASED"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"


_BACKORDER_MOVES = {
    BackorderStatus.OPEN: (BackorderStatus.RELEASED, BackorderStatus.CANCELLED),
    BackorderStatus.RELEASED: (
        BackorderStatus.OPEN,
        BackorderStatus.FULFILLED,
        BackorderStatus.CANCELLED,
    ),
}


class BackorderNotOpen(Conflict):
    code = "backorder_not_open"
    title = "The backorder is not open"


def move_backorder(current: str, wanted: BackorderStatus) -> BackorderStatus:
    """`wanted`, if a backorder in `current` may make that move; `BackorderNotOpen` if not."""
    if wanted not in _BACKORDER_MOVES.get(BackorderStatus(current), ()):
        raise BackorderNotOpen(
            f"a {current} backorder cannot become {wanted.value}", backorder_status=current
        )
    return wanted


class OrderNotValid(Conflict):
    """The order cannot go to the floor as it stands: tried again as its message is, then
    left to an operator among the dead letters."""

    code = "order_not_valid"
    title = "The order cannot be fulfilled as it stands"


def validate(
    items: Iterable[Mapping[str, Any]],
    address: Mapping[str, Any] | None,
    allocation: Iterable[Mapping[str, Any]],
) -> dict[str, int]:
    """Seed 004's first step: the order may go to the floor. It has somewhere to go, and
    inventory allocated exactly its lines (`items`), unit for unit; what was checked, or
    `OrderNotValid`."""
    ordered: dict[str, int] = {}
    for item in items:
        ordered[item["product_id"]] = ordered.get(item["product_id"], 0) + int(item["quantity"])
    allocated: dict[str, int] = {}
    for lot in allocation:
        allocated[lot["product_id"]] = allocated.get(lot["product_id"], 0) + int(lot["quantity"])
    if not address:
        raise OrderNotValid("the order has no address to ship to")
    if allocated != ordered:
        raise OrderNotValid(f"inventory allocated {allocated}; the order has {ordered}")
    return {"lines": len(ordered), "units": sum(ordered.values())}
