"""Catalog's public messages."""

SOURCE = "product-service"

# seed 002: {productId, name, sku, price}, plus ndc, ndc11, deaSchedule and initialStock
PRODUCT_CREATED = "product.created"
# {productId, <each changed field, camelCase>}
PRODUCT_UPDATED = "product.updated"

PUBLISHES = (PRODUCT_CREATED, PRODUCT_UPDATED)
