"""Catalog's public messages."""

SOURCE = "product-service"

# seed 002: {productId, name, sku, price}, plus initialStock for inventory
PRODUCT_CREATED = "product.created"

PUBLISHES = (PRODUCT_CREATED,)
