"""Shipment rules: a shipment is pending, then shipped, then delivered, in that order only."""

from enum import StrEnum

from orderly.kernel.errors import Conflict


class ShipmentStatus(StrEnum):
    PENDING_SHIPMENT = "PENDING_SHIPMENT"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


_NEXT = {
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
