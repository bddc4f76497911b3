"""Shipment rules: a shipment is pending, then shipped, then delivered, in that order only.

A shipment of an order still to be paid waits `ON_HOLD` until the payment completes; one
whose order is cancelled before it ships is `CANCELLED`."""

from enum import StrEnum

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
