"""Inventory's public messages, and seed 001's availability report other contexts rely on."""

from typing import NotRequired, TypedDict

SOURCE = "inventory-service"

# Seed 002: the answer to order.created. {orderId, items: [{productId, quantity, dc,
# lots: [{lot, quantity, expiresOn}]}]}
INVENTORY_RESERVED = "inventory.reserved"
# {orderId, items: [{productId, requested, available}]}: nothing was reserved.
INVENTORY_INSUFFICIENT = "inventory.insufficient"
# {reference, reason, items: [{productId, quantity}]}: units given back (cancel, expiry, undo).
INVENTORY_RELEASED = "inventory.released"

# Commands a saga sends inventory (published by the saga's context), each answered with one
# of the events above carrying the command's `sagaId`:
# {sagaId, orderId, items: [{product_id, quantity}], accountId?, cartId?} → reserved | insufficient
INVENTORY_RESERVE = "inventory.reserve"
# {sagaId, orderId, reason} → inventory.released (also when nothing was left to release)
INVENTORY_RELEASE = "inventory.release"

PUBLISHES = (INVENTORY_RESERVED, INVENTORY_INSUFFICIENT, INVENTORY_RELEASED)


class AvailabilityLine(TypedDict):
    product_id: str
    requested: int
    available: int
    is_available: bool
    # asked with a cart: the units that cart holds of the product
    held: NotRequired[int]


class AvailabilityReport(TypedDict):
    all_available: bool
    items: list[AvailabilityLine]
