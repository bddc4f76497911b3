"""Price precedence: 340B, then the lowest valid contract (by tier), then WAC."""

from datetime import date

from orderly.pricing.domain import Buyer, ContractPrice, Source, quote

TODAY = date(2026, 11, 23)
WAC = (10_000, date(2026, 1, 1))  # $100.00
PHARMACY = Buyer(account="PH-45678", segment="independent", gpo="GPO-1")


def offer(
    contract: str,
    kind: str,
    party: str,
    cents: int,
    *,
    starts: date = date(2026, 1, 1),
    ends: date | None = None,
    min_quantity: int = 1,
) -> ContractPrice:
    return ContractPrice(contract, kind, party, starts, ends, min_quantity, cents)


def test_no_account_pays_wac() -> None:
    found = quote(Buyer(), 1, TODAY, WAC, [offer("C1", "segment", "independent", 7000)], None)
    assert found is not None
    assert (found.cents, found.source) == (10_000, Source.WAC)


def test_the_lowest_contract_that_reaches_the_buyer_wins() -> None:
    offers = [
        offer("ACC", "account", "PH-45678", 8000),
        offer("SEG", "segment", "independent", 7500),
        offer("GPO", "gpo", "GPO-1", 7000),
        offer("OTHER", "account", "PH-99999", 1000),
        offer("HOSP", "segment", "hospital", 2000),
    ]
    found = quote(PHARMACY, 1, TODAY, WAC, offers, None)
    assert found is not None
    assert (found.cents, found.source, found.contract_id) == (7000, Source.CONTRACT, "GPO")


def test_expired_and_future_contracts_are_ignored() -> None:
    offers = [
        offer("OLD", "account", "PH-45678", 5000, ends=date(2026, 11, 22)),
        offer("SOON", "account", "PH-45678", 5000, starts=date(2026, 11, 24)),
        offer("NOW", "account", "PH-45678", 9000, ends=TODAY),
    ]
    found = quote(PHARMACY, 1, TODAY, WAC, offers, None)
    assert found is not None
    assert found.contract_id == "NOW"


def test_tiers_take_the_largest_minimum_the_quantity_meets() -> None:
    offers = [
        offer("C", "account", "PH-45678", 9000),
        offer("C", "account", "PH-45678", 8000, min_quantity=10),
        offer("C", "account", "PH-45678", 7000, min_quantity=100),
    ]
    assert [
        found.cents
        for found in (quote(PHARMACY, n, TODAY, WAC, offers, None) for n in (1, 10, 99, 100))
        if found is not None
    ] == [9000, 8000, 8000, 7000]


def test_a_340b_account_pays_the_340b_price_before_any_contract() -> None:
    covered = Buyer(account="PH-34000", segment="hospital", is_340b=True)
    offers = [offer("C", "account", "PH-34000", 100)]
    found = quote(covered, 1, TODAY, WAC, offers, (600, date(2026, 1, 1)))
    assert found is not None
    assert (found.cents, found.source) == (600, Source.PRICE_340B)
    # without a 340B price, the usual order applies
    fallback = quote(covered, 1, TODAY, WAC, offers, None)
    assert fallback is not None
    assert fallback.source == Source.CONTRACT


def test_a_contract_above_wac_does_not_raise_the_price_and_no_price_is_none() -> None:
    found = quote(PHARMACY, 1, TODAY, WAC, [offer("C", "account", "PH-45678", 12_000)], None)
    assert found is not None
    assert found.source == Source.WAC
    assert quote(PHARMACY, 1, TODAY, None, [], None) is None
