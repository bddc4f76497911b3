"""Pricing's public messages."""

SOURCE = "pricing-service"

# {orderId, items: [{line, productId, quantity, price, source, contractId, effectiveDate}]}
PRICE_LOCKED = "price.locked"
# {orderId}: the compensation of price.locked
PRICE_LOCK_VOIDED = "price.lock_voided"

PUBLISHES = (PRICE_LOCKED, PRICE_LOCK_VOIDED)
