"""Inventory's public messages, the commands a saga may send it, and seed 001's availability
report other contexts rely on."""

from datetime import date
from typing import NotRequired, TypedDict

import msgspec

from orderly.messaging import Message, Part

SOURCE = "inventory-service"


class Units(Part):
    product_id: str
    quantity: int


class LotUnits(Part):
    lot: str
    quantity: int
    expires_on: date | None


class ReservedLine(Part):
    product_id: str
    quantity: int
    dc: str
    lots: list[LotUnits]


class ShortLine(Part):
    product_id: str
    requested: int
    available: int


class InventoryReserved(Message):
    """Seed 002: the answer to `order.created` (or to a saga's `inventory.reserve`): every
    line is reserved, from these lots of this distribution centre."""

    TYPE = "inventory.reserved"

    order_id: str
    items: list[ReservedLine]


class InventoryInsufficient(Message):
    """Nothing was reserved: these lines are short."""

    TYPE = "inventory.insufficient"

    order_id: str
    items: list[ShortLine]
    # `insufficient_stock`, or `no_licensed_dc`: no distribution centre whose DEA registration
    # covers a controlled line's schedule is licensed to ship to the order's state
    reason: str = "insufficient_stock"


class InventoryReleased(Message):
    """Units given back under `reference` (an order or a cart): a cancel, an expiry, an
    operator, or a saga's compensation (then `orderId` names the order)."""

    TYPE = "inventory.released"

    reference: str
    reason: str
    items: list[Units]
    order_id: str | None = None


class ReserveInventory(Message):
    """A saga's command: reserve the order's lines (a cart's holds become the order's);
    answered with `inventory.reserved` or `inventory.insufficient`."""

    TYPE = "inventory.reserve"

    order_id: str
    items: list[Units]
    account_id: str | None = None
    cart_id: str | None = None
    # B2B: a controlled line (product id: its DEA schedule, e.g. `2`) is reserved only at a
    # distribution centre registered for that schedule and licensed for the ship-to state
    ship_to_state: str | None = None
    schedules: dict[str, str] = msgspec.field(default_factory=dict)
    # the saga's run: a replayed checkout (run 2 on) reserves again what its failed run gave back
    run: int = 0


class ReleaseInventory(Message):
    """A saga's compensation: give the order's units back; answered with `inventory.released`
    (also when nothing was held)."""

    TYPE = "inventory.release"

    order_id: str
    reason: str


class InventoryReceived(Message):
    """Goods in: `quantity` units of the product's lot in `dc`, available (a lot received
    past its expiry is not told of)."""

    TYPE = "inventory.received"

    product_id: str
    dc: str
    lot: str
    quantity: int
    expires_on: date | None


MESSAGES = (
    InventoryReceived,
    InventoryReserved,
    InventoryInsufficient,
    InventoryReleased,
    ReserveInventory,
    ReleaseInventory,
)
PUBLISHES = (
    InventoryReceived.TYPE,
    InventoryReserved.TYPE,
    InventoryInsufficient.TYPE,
    InventoryReleased.TYPE,
)


class AvailabilityLine(TypedDict):
    product_id: str
    requested: int
    available: int
    is_available: bool
    # asked with a cart: the units that cart holds of the product, and until when (the
    # earliest of its holds' ends, ISO 8601; none when it holds none)
    held: NotRequired[int]
    held_until: NotRequired[str | None]


class AvailabilityReport(TypedDict):
    all_available: bool
    items: list[AvailabilityLine]
