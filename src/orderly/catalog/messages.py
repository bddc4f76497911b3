"""Catalog's public messages and the availability report other contexts rely on."""

from typing import TypedDict

SOURCE = "product-service"

PRODUCT_CREATED = "product.created"

PUBLISHES = (PRODUCT_CREATED,)


class AvailabilityLine(TypedDict):
    product_id: str
    requested: int
    available: int
    is_available: bool


class AvailabilityReport(TypedDict):
    all_available: bool
    items: list[AvailabilityLine]
