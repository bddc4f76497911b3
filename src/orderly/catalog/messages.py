"""Catalog's public messages."""

from decimal import Decimal
from typing import Any

from msgspec import UNSET, UnsetType

from orderly.messaging import Message

SOURCE = "product-service"


class ProductCreated(Message):
    """Seed 002's `{productId, name, sku, price}`, with the product's NDC and DEA schedule, and
    the stock seed 002 creates it with (inventory receives it)."""

    TYPE = "product.created"

    product_id: str
    name: str
    sku: str
    price: Decimal | None
    ndc: str | None
    ndc11: str | None
    dea_schedule: str | None
    initial_stock: int
    # the unit-level GTIN-14 its NDC makes, which a picker scans (none: no NDC)
    gtin: str | None = None


class ProductUpdated(Message):
    """The fields of the product that changed, and only those."""

    TYPE = "product.updated"

    product_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType | None = UNSET
    price: Decimal | UnsetType | None = UNSET
    strength: str | UnsetType | None = UNSET
    dosage_form: str | UnsetType | None = UNSET
    dea_schedule: str | UnsetType | None = UNSET
    pack_size: str | UnsetType | None = UNSET
    manufacturer: str | UnsetType | None = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET


MESSAGES = (ProductCreated, ProductUpdated)
PUBLISHES = tuple(m.TYPE for m in MESSAGES)
