"""Ordering's public messages."""

SOURCE = "sales-service"

ORDER_CREATED = "order.created"

PUBLISHES = (ORDER_CREATED,)
