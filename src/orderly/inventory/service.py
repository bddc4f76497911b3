"""Inventory's commands and queries as its routes, the CLI and the in-process adapters call
them, gathered from the modules that do each job: `stock` (goods in, lots, DCs), `accounts`
(shelf life), `reservations` (an order's stock), `holds` (a cart's), `queries`."""

from orderly.inventory.accounts import set_shelf_life
from orderly.inventory.dc_licences import change_dc
from orderly.inventory.errors import (
    AccountNotFound,
    DcExists,
    DcNotFound,
    HoldNotFound,
    LotExpired,
    LotMismatch,
    LotNotFound,
    ProductNotFound,
    UnknownDc,
)
from orderly.inventory.holds import Holder, release_hold, soft_reserve, sweep_expired
from orderly.inventory.queries import check_availability, holds, list_dcs, position, positions
from orderly.inventory.reservations import Line, Outcome, hard_reserve, pick, release
from orderly.inventory.stock import (
    Receipt,
    add_item,
    create_dc,
    receive,
    set_lot_status,
    set_safety_stock,
)

__all__ = [
    "AccountNotFound",
    "DcExists",
    "DcNotFound",
    "HoldNotFound",
    "Holder",
    "Line",
    "LotExpired",
    "LotMismatch",
    "LotNotFound",
    "Outcome",
    "ProductNotFound",
    "Receipt",
    "UnknownDc",
    "add_item",
    "change_dc",
    "check_availability",
    "create_dc",
    "hard_reserve",
    "holds",
    "list_dcs",
    "pick",
    "position",
    "positions",
    "receive",
    "release",
    "release_hold",
    "set_lot_status",
    "set_safety_stock",
    "set_shelf_life",
    "soft_reserve",
    "sweep_expired",
]
