"""NDC, NDC11 and GTIN conversions on real NDCs (pharma rules §1 and §7)."""

import pytest

from orderly.catalog import ndc
from orderly.catalog.ndc import InvalidNdc, SearchKeys


@pytest.mark.parametrize(
    ("assigned", "fmt", "ndc11", "gtin"),
    [
        ("0591-0369-01", "4-4-2", "00591036901", "00305910369019"),  # loxapine
        ("51655-089-52", "5-3-2", "51655008952", None),  # levothyroxine
        ("58118-1397-3", "5-4-1", "58118139703", None),
        ("68788-9868-3", "5-4-1", "68788986803", None),  # simvastatin
        ("0054-0390-41", "4-4-2", "00054039041", "00300540390419"),  # oxycodone CII
        ("12345-6789-1", "5-4-1", "12345678901", "00312345678913"),
    ],
)
def test_known_ndcs_convert(assigned: str, fmt: str, ndc11: str, gtin: str | None) -> None:
    parsed = ndc.parse(assigned)
    assert parsed.format == fmt
    assert parsed.ndc11 == ndc11
    assert parsed.assigned == assigned
    if gtin is not None:
        assert parsed.gtin == gtin
    assert ndc.digits_of_gtin(parsed.gtin) == parsed.digits


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1234567890", "ambiguous"),
        ("12345-67890-1", "4-4-2, 5-3-2 or 5-4-1"),
        ("0591-0369-1", "4-4-2, 5-3-2 or 5-4-1"),
        ("abcd-efgh-ij", "4-4-2, 5-3-2 or 5-4-1"),
        ("", "4-4-2, 5-3-2 or 5-4-1"),
    ],
)
def test_invalid_ndcs_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidNdc) as refused:
        ndc.parse(text)
    assert reason in refused.value.detail


def test_ndc11_back_to_ndc10_is_unique_ambiguous_or_impossible() -> None:
    assert [n.assigned for n in ndc.from_ndc11("12345678901")] == ["12345-6789-1"]
    assert len(ndc.from_ndc11("00591036901")) == 3
    assert ndc.from_ndc11("12345678912") == []


def test_gtins_must_check_and_belong_to_an_ndc() -> None:
    with pytest.raises(InvalidNdc, match="check digit"):
        ndc.digits_of_gtin("00305910369013")  # a misprinted check digit seen in the wild
    with pytest.raises(InvalidNdc, match="not of an NDC"):
        ndc.digits_of_gtin("04006381333931")


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("0591-0369-01", SearchKeys(ndc11=frozenset({"00591036901"}))),
        ("00591-0369-01", SearchKeys(ndc11=frozenset({"00591036901"}))),
        ("00591036901", SearchKeys(ndc11=frozenset({"00591036901"}))),
        ("0591036901", SearchKeys(digits=frozenset({"0591036901"}))),
        ("00305910369019", SearchKeys(digits=frozenset({"0591036901"}))),
        ("305910369019", SearchKeys(digits=frozenset({"0591036901"}))),
        (
            "0100312345678913172712311" + "0LOT123\x1d21SN0001",
            SearchKeys(digits=frozenset({"1234567891"})),
        ),
        (
            "(01)00312345678913(17)271231(10)LOT123(21)SN0001",
            SearchKeys(digits=frozenset({"1234567891"})),
        ),
        ("amoxicillin 500", None),
        ("500", None),
        ("0100305910369019", SearchKeys(digits=frozenset({"0591036901"}))),
    ],
)
def test_search_queries_become_identifiers(query: str, keys: SearchKeys | None) -> None:
    assert ndc.search_keys(query) == keys
