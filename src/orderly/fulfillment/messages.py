"""Fulfillment's public messages. `order.status_updated` is seed 001's delivery-service event."""

SOURCE = "delivery-service"

ORDER_STATUS_UPDATED = "order.status_updated"

PUBLISHES = (ORDER_STATUS_UPDATED,)
