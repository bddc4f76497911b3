"""Pricing rules: which price a buyer pays, and why. No I/O. Money is integer cents.

Precedence (pharma rules §5, a design choice): a 340B account pays the 340B price where one
is set; otherwise the lowest valid contract price among the contracts that reach it (its own
account's, its segment's, its GPO's), a contract being valid between its start and end dates
and its tier the largest minimum quantity the order meets; otherwise WAC.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from orderly.kernel.errors import Unprocessable


class Source(StrEnum):
    PRICE_340B = "340b"
    CONTRACT = "contract"
    WAC = "wac"


class ContractKind(StrEnum):
    ACCOUNT = "account"
    SEGMENT = "segment"
    GPO = "gpo"


class InvalidPrice(Unprocessable):
    code = "invalid_price"
    title = "Price data is not valid"


class InvalidEffectiveDate(Unprocessable):
    code = "invalid_effective_date"
    title = "Effective date out of range"


# A list or 340B price takes effect from yesterday at the earliest: an earlier day would rewrite
# the prices quotes were already given at and orders were already locked at (yesterday, not
# today, for an operator whose calendar is behind UTC's). And a year ahead at the latest: such
# prices are announced weeks or months before they apply; a day further off is a slip.
EFFECTIVE_BACK = timedelta(days=1)
EFFECTIVE_AHEAD = timedelta(days=366)


def check_effective_from(day: date, today: date) -> None:
    earliest, latest = today - EFFECTIVE_BACK, today + EFFECTIVE_AHEAD
    if not earliest <= day <= latest:
        raise InvalidEffectiveDate(
            f"a price takes effect from {earliest} to {latest}; {day} is outside",
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )


@dataclass(frozen=True)
class Buyer:
    """What pricing knows of who is buying; a B2C customer has no account."""

    account: str | None = None
    segment: str | None = None
    gpo: str | None = None
    is_340b: bool = False


@dataclass(frozen=True)
class ContractPrice:
    contract_id: str
    kind: str
    party: str
    starts_on: date
    ends_on: date | None
    min_quantity: int
    cents: int

    def reaches(self, buyer: Buyer) -> bool:
        party = {
            ContractKind.ACCOUNT: buyer.account,
            ContractKind.SEGMENT: buyer.segment,
            ContractKind.GPO: buyer.gpo,
        }.get(ContractKind(self.kind))
        return party is not None and party == self.party

    def valid_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Quote:
    cents: int
    source: Source
    contract_id: str | None
    effective_date: date
    min_quantity: int = 1


def quote(
    buyer: Buyer,
    quantity: int,
    day: date,
    wac: tuple[int, date] | None,
    contracts: Iterable[ContractPrice],
    price_340b: tuple[int, date] | None,
) -> Quote | None:
    """The price `buyer` pays per unit for `quantity` on `day`; None if the product has none."""
    if buyer.is_340b and price_340b is not None:
        return Quote(price_340b[0], Source.PRICE_340B, None, price_340b[1])
    best: ContractPrice | None = None
    # one tier per contract: the largest minimum the quantity meets
    tiers: dict[str, ContractPrice] = {}
    for offer in contracts:
        if not (offer.reaches(buyer) and offer.valid_on(day) and offer.min_quantity <= quantity):
            continue
        held = tiers.get(offer.contract_id)
        if held is None or offer.min_quantity > held.min_quantity:
            tiers[offer.contract_id] = offer
    for offer in tiers.values():
        if best is None or (offer.cents, offer.contract_id) < (best.cents, best.contract_id):
            best = offer
    if best is not None and (wac is None or best.cents <= wac[0]):
        return Quote(
            best.cents, Source.CONTRACT, best.contract_id, best.starts_on, best.min_quantity
        )
    if wac is not None:
        return Quote(wac[0], Source.WAC, None, wac[1])
    return None


def check_dates(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise InvalidPrice("a contract cannot end before it starts")
