"""Pricing's public messages."""

SOURCE = "pricing-service"

# {orderId, items: [{line, productId, quantity, price, source, contractId, effectiveDate}]}
PRICE_LOCKED = "price.locked"
# {orderId}: the compensation of price.locked
PRICE_LOCK_VOIDED = "price.lock_voided"

# {productId, price, effectiveDate}: the product's WAC in force changed (an operator set it,
# or a WAC set ahead of its day took effect); catalog shows it as the product's price.
PRICE_WAC_CHANGED = "price.wac_changed"

PUBLISHES = (PRICE_LOCKED, PRICE_LOCK_VOIDED, PRICE_WAC_CHANGED)
