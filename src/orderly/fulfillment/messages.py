"""Fulfillment's public messages."""

from msgspec import UNSET, UnsetType

from orderly.messaging import Message

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


MESSAGES = (OrderStatusUpdated,)
PUBLISHES = (OrderStatusUpdated.TYPE,)
