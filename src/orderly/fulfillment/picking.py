"""Picking rules: a unit scanned at the shelf, checked against its pick task. No I/O.

A pick task asks for `quantity` units of one product from one lot at one location, as
inventory's FEFO allocation chose them. The picker scans each unit's 2D barcode: a GS1
element string with the product's GTIN (AI 01), its expiry (17), lot (10) and serial number
(21), as DSCSA puts on every saleable unit (pharma rules R2.1). A scan that does not match
the task is refused with the reason, and changes nothing; one that matches is one unit
picked, its serial number kept for the order's transaction information.

A short pick (the shelf holds fewer units than the task asks) is reported: the rest is
backordered or its line cancelled, as the warehouse is configured.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from orderly.kernel.errors import Conflict, Unprocessable

GROUP_SEPARATOR = "\x1d"  # FNC1 inside a scanned element string
# What scanners put before an element string: the symbology identifier of a GS1 DataMatrix
# (]d2), GS1-128 (]C1) or GS1 QR code (]Q3).
_SYMBOLOGIES = ("]d2", "]C1", "]Q3")


class Refusal(StrEnum):
    """Why a scan is refused: the stable `code` of the answer."""

    MALFORMED = "malformed_barcode"
    WRONG_PRODUCT = "wrong_product"
    WRONG_LOT = "wrong_lot"
    LOT_NOT_ALLOCATED = "lot_not_allocated"
    WRONG_EXPIRY = "wrong_expiry"
    EXPIRED = "lot_expired"
    NO_SERIAL = "serial_missing"
    SERIAL_PICKED = "serial_already_picked"
    DONE = "pick_complete"


class ScanRefused(Unprocessable):
    code = "scan_refused"
    title = "The scanned unit does not fit the pick"

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(detail, reason=reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Scan:
    """What a unit's barcode says."""

    gtin: str
    lot: str | None = None
    expires_on: date | None = None
    serial: str | None = None


def read_scan(scanned: str) -> Scan:
    """The element string as a scanner sends it (FNC1 as GS, a symbology identifier or not)
    or as printed under the barcode, `(01)…(17)…(10)…(21)…`; `ScanRefused` if it is none."""
    # biip loads its GS1 tables as it is imported: only processes that read scans pay for it
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    text = scanned.strip()
    for prefix in _SYMBOLOGIES:
        text = text.removeprefix(prefix)
    try:
        message = (
            GS1Message.parse_hri(text)
            if text.startswith("(")
            else GS1Message.parse(text)  # FNC1 as GS (0x1D), by default
        )
    except (ParseError, ValueError):
        raise ScanRefused(Refusal.MALFORMED, "not a GS1 element string") from None
    found = {element.ai.ai: element for element in message.element_strings}
    product = found.get("01")
    if product is None or product.gtin is None:
        raise ScanRefused(Refusal.MALFORMED, "the barcode carries no valid GTIN (AI 01)")
    expiry = found.get("17")
    if expiry is not None and expiry.date is None:
        raise ScanRefused(Refusal.MALFORMED, "the barcode's expiry (AI 17) is not a date")
    lot, serial = found.get("10"), found.get("21")
    return Scan(
        gtin=product.gtin.value,
        lot=None if lot is None else lot.value,
        expires_on=None if expiry is None else expiry.date,
        serial=None if serial is None else serial.value,
    )


@dataclass(frozen=True)
class PickTask:
    """Units of one product (known by its GTIN) to take from one lot at one location."""

    id: str
    gtin: str
    lot: str
    expires_on: date | None
    location: str
    quantity: int
    serialised: bool = True
    picked: tuple[str, ...] = ()  # the serial numbers of the units picked so far (or "")

    @property
    def remaining(self) -> int:
        return self.quantity - len(self.picked)


def check_scan(task: PickTask, scan: Scan, today: date, order_lots: Collection[str]) -> str:
    """The serial number of the unit `scan` picks for `task` ("" for a product without
    serial numbers), or `ScanRefused` with the first reason it does not fit. `order_lots`
    are the lots of this product allocated to the task's order, other tasks' included."""
    if task.remaining <= 0:
        raise ScanRefused(Refusal.DONE, f"all {task.quantity} units of this pick are picked")
    if scan.gtin != task.gtin:
        raise ScanRefused(
            Refusal.WRONG_PRODUCT, f"GTIN {scan.gtin} is not this pick's product ({task.gtin})"
        )
    if scan.lot != task.lot:
        lot = scan.lot or "no lot"
        if scan.lot is not None and scan.lot in order_lots:
            raise ScanRefused(
                Refusal.WRONG_LOT,
                f"lot {lot} belongs to another pick of this order; this one takes lot {task.lot}",
            )
        raise ScanRefused(
            Refusal.LOT_NOT_ALLOCATED, f"{lot} is not allocated to this order (lot {task.lot})"
        )
    if None not in (scan.expires_on, task.expires_on) and scan.expires_on != task.expires_on:
        raise ScanRefused(
            Refusal.WRONG_EXPIRY,
            f"the unit says it expires {scan.expires_on}, lot {task.lot} {task.expires_on}",
        )
    expires_on = scan.expires_on or task.expires_on
    if expires_on is not None and expires_on <= today:
        raise ScanRefused(Refusal.EXPIRED, f"lot {task.lot} expired on {expires_on}")
    if not task.serialised:
        return ""
    if not scan.serial:
        raise ScanRefused(Refusal.NO_SERIAL, "the barcode carries no serial number (AI 21)")
    if scan.serial in task.picked:
        raise ScanRefused(Refusal.SERIAL_PICKED, f"unit {scan.serial} is picked already")
    return scan.serial


class ShortPolicy(StrEnum):
    """What a short pick does to the units the shelf did not have: a backorder of the
    order, shipped once stock comes in, or its line cancelled by that many units."""

    BACKORDER = "backorder"
    CANCEL = "cancel_line"

    @classmethod
    def _missing_(cls, value: object) -> "ShortPolicy | None":
        return cls.CANCEL if value == "cancel" else None  # its older name


class NotShort(Conflict):
    code = "not_short"
    title = "The pick is not short"


@dataclass(frozen=True)
class Short:
    picked: int
    backordered: int
    cancelled: int


def short_pick(task: PickTask, policy: ShortPolicy) -> Short:
    """The task is closed with the units picked so far; the rest is backordered or its line
    cancelled. A task with nothing left to pick is not short."""
    missing = task.remaining
    if missing <= 0:
        raise NotShort(f"all {task.quantity} units of the pick are picked")
    picked = len(task.picked)
    if policy is ShortPolicy.BACKORDER:
        return Short(picked=picked, backordered=missing, cancelled=0)
    return Short(picked=picked, backordered=0, cancelled=missing)


def short_by_product(shorts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """The units an order's closed picks did not find, per product (a product picked from
    several lots may be short in more than one), leaving out products none is short of."""
    found: dict[str, int] = {}
    for product_id, units in shorts:
        if units > 0:
            found[product_id] = found.get(product_id, 0) + units
    return found
