"""Inventory rules: available-to-promise and first-expiry-first-out allocation. No I/O.

ATP(product, dc) = released, unexpired on-hand - hard reservations on those lots - live soft
reservations - safety stock (pharma rules §6). Quarantined and expired lots are blocked: a
lot expires at the start of its expiry date (UTC), and one received expired stays `expired`.
A lot that expires before the customer's minimum shelf life runs out is not allocated to it.
"""

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from orderly.kernel.errors import Unprocessable

DEFAULT_DC = "MAIN"
DC_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
LOT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$")  # GS1 AI (10): up to 20 characters
_NO_EXPIRY = date.max


# What a DC's DEA registration may cover, as registrations write schedules (`N`: the
# non-narcotic half of schedules II and III).
DEA_SCHEDULES = frozenset({"2", "2N", "3", "3N", "4", "5"})
# The registration schedules a DC needs, all of them, to hold and ship a product of each
# schedule: the catalog's (`CII`...) or a registration's (`2`...). The catalog does not say
# whether a CII or CIII product is a narcotic, so such a product needs both halves.
NEEDS: dict[str, frozenset[str]] = {
    "CII": frozenset({"2", "2N"}),
    "CIII": frozenset({"3", "3N"}),
    "CIV": frozenset({"4"}),
    "CV": frozenset({"5"}),
    **{schedule: frozenset({schedule}) for schedule in DEA_SCHEDULES},
}
STATE = re.compile(r"^[A-Z]{2}$")


class LotStatus(StrEnum):
    RELEASED = "released"
    QUARANTINED = "quarantined"
    EXPIRED = "expired"


class Kind(StrEnum):
    SOFT = "soft"
    HARD = "hard"


class InvalidStock(Unprocessable):
    code = "invalid_stock"
    title = "Stock data is not valid"


def check_dc(dc: str) -> str:
    if not DC_CODE.match(dc):
        raise InvalidStock(f"{dc!r} is not a distribution centre code (A-Z, 0-9, '-')")
    return dc


def check_schedules(schedules: Iterable[str]) -> list[str]:
    """Sorted, without repeats; only schedules a DEA registration lists."""
    wanted = sorted(set(schedules))
    unknown = [s for s in wanted if s not in DEA_SCHEDULES]
    if unknown:
        raise InvalidStock(f"unknown DEA schedules: {', '.join(unknown)} (2, 2N, 3, 3N, 4, 5)")
    return wanted


def check_states(states: Iterable[str] | None) -> list[str] | None:
    """Sorted, without repeats, two capital letters each; None stays None (every state)."""
    if states is None:
        return None
    wanted = sorted(set(states))
    bad = [s for s in wanted if not STATE.match(s)]
    if bad:
        raise InvalidStock(f"not state codes: {', '.join(bad)} (two capital letters, e.g. PA)")
    return wanted


@dataclass(frozen=True)
class Licence:
    """A DC's DEA registration (the schedules it may hold and ship) and the states it is
    licensed to ship them to (None: every state)."""

    dc: str
    schedules: frozenset[str]
    states: frozenset[str] | None = None

    def may_ship(self, schedule: str, state: str | None) -> bool:
        """Whether it may ship a product of `schedule` to `state`. An unknown schedule (`CI`)
        is never shipped; to an unknown state, only a DC licensed for every state ships."""
        needs = NEEDS.get(schedule)
        if needs is None or not needs <= self.schedules:
            return False
        return self.states is None or (state is not None and state in self.states)


def qualifying(licences: Iterable[Licence], schedule: str, state: str | None) -> frozenset[str]:
    """The DCs that may ship a product of `schedule` to `state`."""
    return frozenset(licence.dc for licence in licences if licence.may_ship(schedule, state))


def expired(expires_on: date | None, today: date) -> bool:
    """Past use: a lot is not sold on its expiry date or after."""
    return (expires_on or _NO_EXPIRY) <= today


def received_status(expires_on: date | None, today: date) -> LotStatus:
    """What a lot is when first received: blocked from the start if it has already expired."""
    return LotStatus.EXPIRED if expired(expires_on, today) else LotStatus.RELEASED


def check_lot(lot_number: str) -> str:
    if not LOT_NUMBER.match(lot_number):
        raise InvalidStock(f"{lot_number!r} is not a lot number (up to 20 characters)")
    return lot_number


@dataclass(frozen=True)
class Lot:
    id: str
    dc: str
    lot_number: str
    expires_on: date | None
    received_at: str
    on_hand: int
    reserved: int
    status: str

    @property
    def free(self) -> int:
        """Units of this lot not yet promised to an order."""
        return self.on_hand - self.reserved

    def state(self, today: date) -> str:
        """The status an operator sees: a released lot past its expiry is `expired`."""
        if self.status == LotStatus.RELEASED and expired(self.expires_on, today):
            return LotStatus.EXPIRED.value
        return self.status

    def usable(self, today: date, shelf_life_days: int = 0) -> bool:
        """Released, and not expired (or expiring within the shelf life asked for)."""
        if self.status != LotStatus.RELEASED:
            return False
        return not expired(self.expires_on, today + timedelta(days=shelf_life_days))


def atp(
    lots: Iterable[Lot],
    soft_reserved: int,
    safety_stock: int,
    today: date,
    shelf_life_days: int = 0,
) -> int:
    """Available to promise in one DC (for a customer's minimum shelf life); never below zero."""
    usable = sum(max(0, lot.free) for lot in lots if lot.usable(today, shelf_life_days))
    return max(0, usable - soft_reserved - safety_stock)


@dataclass(frozen=True)
class Figures:
    """One DC's on-hand units, each counted once: on_hand = hard_reserved + blocked +
    soft_reserved + safety_stock + atp. Soft holds and safety stock count for what they take
    of the usable units left (no more); `safety_stock_level` is the level set."""

    on_hand: int
    hard_reserved: int
    blocked: int
    soft_reserved: int
    safety_stock: int
    safety_stock_level: int
    atp: int


def figures(lots: Iterable[Lot], soft_reserved: int, safety_stock: int, today: date) -> Figures:
    """Where one DC's units are; `atp` is `atp(...)` with no shelf life asked."""
    lots = list(lots)
    usable = sum(max(0, lot.free) for lot in lots if lot.usable(today))
    held = min(soft_reserved, usable)
    kept = min(safety_stock, usable - held)
    return Figures(
        on_hand=sum(lot.on_hand for lot in lots),
        hard_reserved=sum(lot.reserved for lot in lots),
        blocked=sum(max(0, lot.free) for lot in lots if not lot.usable(today)),
        soft_reserved=held,
        safety_stock=kept,
        safety_stock_level=safety_stock,
        atp=usable - held - kept,
    )


def fefo(
    lots: Sequence[Lot], quantity: int, today: date, shelf_life_days: int = 0
) -> list[tuple[Lot, int]] | None:
    """Take `quantity` from the lots that expire first (then the oldest, then by lot number),
    skipping lots too short-dated; None if they do not hold enough."""
    eligible = sorted(
        (lot for lot in lots if lot.usable(today, shelf_life_days) and lot.free > 0),
        key=lambda lot: (lot.expires_on or _NO_EXPIRY, lot.received_at, lot.lot_number),
    )
    taken: list[tuple[Lot, int]] = []
    left = quantity
    for lot in eligible:
        if left == 0:
            break
        take = min(lot.free, left)
        taken.append((lot, take))
        left -= take
    return taken if left == 0 else None


@dataclass(frozen=True)
class SoftHold:
    """A cart's live hold on some of a product's units in one DC (a soft reservation)."""

    id: str
    reference: str
    line: str
    dc: str
    quantity: int


Allocation = list[tuple[Lot, int]]


@dataclass
class Stock:
    """A product's lots, live soft holds and safety stock per DC, as read under its lock."""

    lots: list[Lot]
    soft: list[SoftHold]
    safety: dict[str, int]

    def dcs(self) -> list[str]:
        return sorted({lot.dc for lot in self.lots} | set(self.safety))

    def atp(self, dc: str, today: date, shelf_life_days: int = 0, ignore: str = "") -> int:
        """ATP in `dc`, not counting the soft hold `ignore` (its holder's own)."""
        soft = sum(hold.quantity for hold in self.soft if hold.dc == dc and hold.id != ignore)
        lots = [lot for lot in self.lots if lot.dc == dc]
        return atp(lots, soft, self.safety.get(dc, 0), today, shelf_life_days)

    def figures(self, dc: str, today: date) -> Figures:
        soft = sum(hold.quantity for hold in self.soft if hold.dc == dc)
        lots = [lot for lot in self.lots if lot.dc == dc]
        return figures(lots, soft, self.safety.get(dc, 0), today)

    def total_atp(
        self,
        today: date,
        shelf_life_days: int = 0,
        ignore: str = "",
        among: Collection[str] | None = None,
    ) -> int:
        """ATP in every DC (or those `among`)."""
        dcs = [dc for dc in self.dcs() if among is None or dc in among]
        return sum(self.atp(dc, today, shelf_life_days, ignore) for dc in dcs)

    def hold_of(self, reference: str, product_id: str) -> SoftHold | None:
        """The live hold `reference` (a cart) has on this product, if any."""
        if not reference:
            return None
        return next(
            (h for h in self.soft if h.reference == reference and h.line == product_id), None
        )

    def dc_for(self, quantity: int, today: date, ignore: str = "") -> str | None:
        """The first DC whose ATP (besides the hold `ignore`) covers `quantity`."""
        return next((dc for dc in self.dcs() if self.atp(dc, today, 0, ignore) >= quantity), None)

    def choose(
        self,
        quantity: int,
        today: date,
        shelf_life_days: int = 0,
        own: SoftHold | None = None,
        among: Collection[str] | None = None,
    ) -> tuple[str, Allocation] | None:
        """The first DC (of those `among`, if named; that of the customer's `own` hold
        first) that can fill the whole line, and its lots, first-expiry-first-out; None if no
        one DC can. Blocked lots (quarantined, expired) are never taken."""
        dcs = [dc for dc in self.dcs() if among is None or dc in among]
        if own is not None:
            dcs = sorted(dcs, key=lambda dc: dc != own.dc)
        for dc in dcs:
            ignore = own.id if own is not None and own.dc == dc else ""
            if self.atp(dc, today, shelf_life_days, ignore) < quantity:
                continue
            lots = [lot for lot in self.lots if lot.dc == dc]
            allocation = fefo(lots, quantity, today, shelf_life_days)
            if allocation is not None:
                return dc, allocation
        return None

    def take(self, allocation: Sequence[tuple[Lot, int]]) -> None:
        """Count `allocation` as reserved, so later lines of one order see it."""
        taken = {lot.id: n for lot, n in allocation}
        self.lots = [
            replace(lot, reserved=lot.reserved + taken[lot.id]) if lot.id in taken else lot
            for lot in self.lots
        ]
