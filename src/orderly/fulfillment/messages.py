"""Fulfillment's public messages, and the commands its orchestrator sends the warehouse."""

from datetime import datetime

from msgspec import UNSET, UnsetType

from orderly.inventory.messages import ReleaseInventory, ReserveInventory
from orderly.messaging import Message, Part

SOURCE = "delivery-service"


class OrderStatusUpdated(Message, rename=None):
    """Seed 001's `order.status_updated`, field for field (snake_case, as the seed prints it):
    a shipped order's tracking, a delivered order's time and place."""

    TYPE = "order.status_updated"

    order_id: str
    previous_status: str
    current_status: str
    tracking_number: str | UnsetType = UNSET
    carrier: str | UnsetType = UNSET
    delivered_at: str | UnsetType = UNSET
    delivery_location: str | UnsetType = UNSET


class WaveReleased(Message):
    """A wave went to the floor: its orders' pick tasks are made."""

    TYPE = "wave.released"

    wave_id: str
    dc: str
    zone: str
    carrier: str
    cutoff: datetime
    order_ids: list[str]
    released_by: str | None = None


class PickedLot(Part):
    """Units of one product taken from one lot: their serial numbers, if they carry any."""

    product_id: str
    dc: str
    lot: str
    quantity: int
    serials: list[str]
    # units the shelf did not have (a short pick)
    short: int = 0


class PickCompleted(Message):
    """Every pick task of an order is done: these units left their shelves (inventory takes
    them off hand). Units a short pick did not find are `short`."""

    TYPE = "pick.completed"

    order_id: str
    lots: list[PickedLot]


class PickCancelled(Message):
    """An order's picks were undone: the units picked go back to their lots."""

    TYPE = "pick.cancelled"

    order_id: str
    lots: list[PickedLot]


class PackCompleted(Message):
    TYPE = "pack.completed"

    order_id: str
    packages: int


class FulfillmentShipped(Message):
    """Seed 000: the shipment left with its carrier (`SHP-…`)."""

    TYPE = "fulfillment.shipped"

    order_id: str
    shipment_id: str
    carrier: str
    tracking_number: str


class FulfillmentDelivered(Message):
    """Seed 000: the carrier delivered it; the order is complete."""

    TYPE = "fulfillment.delivered"

    order_id: str
    shipment_id: str
    delivered_at: datetime
    delivery_location: str


class FulfillmentEscalated(Message):
    """A wait of an order's fulfillment ran out: an operator should look."""

    TYPE = "fulfillment.escalated"

    order_id: str
    step: str
    times: int


class Backordered(Message):
    """A short pick left `quantity` units of the order's product unpicked: they are the
    order's backorder, shipped once stock comes in (`ORDERLY_SHORT_PICK=backorder`)."""

    TYPE = "fulfillment.backordered"

    backorder_id: str
    order_id: str
    product_id: str
    quantity: int


class BackorderCancelled(Message):
    """A backorder will not ship: an operator cancelled it, or its order was cancelled
    (`reason`). A released one's reservation, picks and packing were undone first."""

    TYPE = "fulfillment.backorder_cancelled"

    backorder_id: str
    order_id: str
    product_id: str
    quantity: int
    reason: str


class LineCancelled(Message):
    """A short pick left `quantity` units of the order's product unpicked: the order's line
    is cancelled by that many units, and the rest ships (`ORDERLY_SHORT_PICK=cancel_line`)."""

    TYPE = "fulfillment.line_cancelled"

    order_id: str
    product_id: str
    quantity: int


# Commands of the orchestrator to the warehouse (the Wms port), and their answers.


class CreatePicks(Message):
    TYPE = "fulfillment.picks.create"

    order_id: str


class CancelPicks(Message):
    TYPE = "fulfillment.picks.cancel"

    order_id: str


class CreatePack(Message):
    TYPE = "fulfillment.pack.create"

    order_id: str


class CancelPack(Message):
    TYPE = "fulfillment.pack.cancel"

    order_id: str


class PackCancelled(Message):
    TYPE = "pack.cancelled"

    order_id: str


class ShipOrder(Message):
    TYPE = "fulfillment.ship"

    order_id: str
    carrier: str


class CancelShipment(Message):
    TYPE = "fulfillment.shipment.cancel"

    order_id: str


class ShipmentCancelled(Message):
    TYPE = "fulfillment.shipment.cancelled"

    order_id: str


class ShipmentFailed(Message):
    """The carrier would not take the shipment."""

    TYPE = "fulfillment.shipment.failed"

    order_id: str
    reason: str


MESSAGES = (
    OrderStatusUpdated,
    WaveReleased,
    PickCompleted,
    PickCancelled,
    PackCompleted,
    FulfillmentShipped,
    FulfillmentDelivered,
    FulfillmentEscalated,
    Backordered,
    BackorderCancelled,
    LineCancelled,
    CreatePicks,
    CancelPicks,
    CreatePack,
    CancelPack,
    PackCancelled,
    ShipOrder,
    CancelShipment,
    ShipmentCancelled,
    ShipmentFailed,
)
# The orchestrator gives an undone order's stock back in inventory's words, and reserves a
# backorder's before it ships.
PUBLISHES = (*(kind.TYPE for kind in MESSAGES), ReserveInventory.TYPE, ReleaseInventory.TYPE)
