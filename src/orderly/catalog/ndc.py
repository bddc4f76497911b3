"""NDC, NDC11 and GTIN-14: the identifiers of US drug products (pharma rules §1). No I/O.

An NDC is stored as assigned (hyphenated, which fixes its 4-4-2, 5-3-2 or 5-4-1 format), as
NDC11 (HIPAA 5-4-2, each segment zero-padded), as its ten digits, and as the unit-level
GTIN-14 (indicator 0, `03`, the ten NDC digits, the GS1 check digit). A search may give any
of these, a UPC-A, or a scanned GS1 element string; `search_keys` turns it into what to look
up. Ten digits without hyphens, or an NDC11 with more than one way back, are ambiguous:
they are looked up, never guessed. What only looks like an identifier is refused.
"""

import re
from dataclasses import dataclass

from stdnum import ean

from orderly.kernel.errors import Unprocessable

_ASSIGNED = re.compile(r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d)$")
_NDC11_HYPHENATED = re.compile(r"^\d{5}-\d{4}-\d{2}$")


class InvalidNdc(Unprocessable):
    code = "invalid_ndc"
    title = "Not a valid NDC"


@dataclass(frozen=True)
class Ndc:
    labeler: str
    product: str
    package: str

    @property
    def assigned(self) -> str:
        return f"{self.labeler}-{self.product}-{self.package}"

    @property
    def format(self) -> str:
        return f"{len(self.labeler)}-{len(self.product)}-{len(self.package)}"

    @property
    def digits(self) -> str:
        """The ten digits, without hyphens (what a GTIN carries)."""
        return self.labeler + self.product + self.package

    @property
    def ndc11(self) -> str:
        return self.labeler.zfill(5) + self.product.zfill(4) + self.package.zfill(2)

    @property
    def gtin(self) -> str:
        """Unit-level GTIN-14: indicator 0, then `03`, the NDC digits and the check digit."""
        body = "003" + self.digits
        return body + ean.calc_check_digit(body)


def parse(assigned: str) -> Ndc:
    """An NDC as the FDA assigned it: hyphenated in one of the three formats."""
    text = assigned.strip()
    if not _ASSIGNED.match(text):
        if re.fullmatch(r"\d{10}", text):
            raise InvalidNdc(
                f"{text!r}: ten digits without hyphens are ambiguous; give the hyphens"
            )
        raise InvalidNdc(f"{text!r} is not an NDC in 4-4-2, 5-3-2 or 5-4-1 format")
    labeler, product, package = text.split("-")
    return Ndc(labeler, product, package)


def from_ndc11(ndc11: str) -> list[Ndc]:
    """Every NDC10 this NDC11 can come from: one is unique, several are ambiguous, none is
    not an NDC11 at all (a padded segment must hold a leading zero to drop)."""
    digits = ndc11.replace("-", "")
    if not re.fullmatch(r"\d{11}", digits):
        raise InvalidNdc(f"{ndc11!r} is not an NDC11 (11 digits, 5-4-2)")
    labeler, product, package = digits[:5], digits[5:9], digits[9:]
    found = []
    if labeler[0] == "0":
        found.append(Ndc(labeler[1:], product, package))
    if product[0] == "0":
        found.append(Ndc(labeler, product[1:], package))
    if package[0] == "0":
        found.append(Ndc(labeler, product, package[1:]))
    return found


def digits_of_gtin(gtin: str) -> str:
    """The ten NDC digits inside a GTIN-14 (or a 12-digit UPC-A) of a US drug product."""
    value = gtin.strip()
    if len(value) == 12:
        value = "00" + value
    if not re.fullmatch(r"\d{14}", value) or not ean.is_valid(value):
        raise InvalidNdc(f"{gtin!r} is not a GTIN-14 with a valid check digit")
    if value[1:3] != "03":
        raise InvalidNdc(f"{gtin!r} is a GTIN, but not of an NDC (no 03 after the indicator)")
    return value[3:13]


@dataclass(frozen=True)
class SearchKeys:
    """What to look up for a query that is an identifier (any field may match)."""

    ndc11: frozenset[str] = frozenset()
    digits: frozenset[str] = frozenset()


def search_keys(query: str) -> SearchKeys | None:
    """The identifiers a search query stands for; None if it is not one (then it is words).

    One rule for every identifier: a query that looks like one (digits and hyphens only,
    with a hyphen or at least nine digits, or a GS1 element string) must be a valid one,
    or it is refused with the reason, never searched as words."""
    text = query.strip()
    if _ASSIGNED.match(text):
        return SearchKeys(ndc11=frozenset({parse(text).ndc11}))
    if _NDC11_HYPHENATED.match(text) or re.fullmatch(r"\d{11}", text):
        digits = text.replace("-", "")
        if not from_ndc11(digits):
            raise InvalidNdc(
                f"{text!r} is not an NDC11: no segment has a leading zero that padding added"
            )
        return SearchKeys(ndc11=frozenset({digits}))
    if re.fullmatch(r"\d{10}", text):
        return SearchKeys(digits=frozenset({text}))
    if re.fullmatch(r"\d{12}|\d{14}", text):
        return SearchKeys(digits=frozenset({digits_of_gtin(text)}))
    if text.startswith(("01", "(01)", "]d2", "]C1")) and len(text) >= 16:
        return SearchKeys(digits=frozenset({digits_of_gtin(_scanned_gtin(text))}))
    _refuse_lookalike(text)
    return None


def _refuse_lookalike(text: str) -> None:
    """Digits and hyphens that are none of the identifiers above are a mistyped one."""
    if not re.fullmatch(r"[\d-]+", text) or not any(c.isdigit() for c in text):
        return
    if "-" in text:
        raise InvalidNdc(
            f"{text!r} is not an NDC: hyphenated, it is 4-4-2, 5-3-2 or 5-4-1 as assigned,"
            " or 5-4-2 as NDC11"
        )
    if len(text) >= 9:
        raise InvalidNdc(
            f"{text!r}: {len(text)} digits are no NDC (10 digits), NDC11 (11), UPC-A (12)"
            " or GTIN-14 (14)"
        )


def _scanned_gtin(scanned: str) -> str:
    """The GTIN in a GS1 element string, as printed `(01)…(17)…` or as scanned (FNC1 = GS)."""
    # biip loads the GS1 company prefix table on import (about 0.1 s): every process would
    # pay it on start for a search few of them see
    import biip
    from biip.gs1_messages import GS1Message

    try:
        if scanned.startswith("("):
            message = GS1Message.parse_hri(scanned)
        else:
            parsed = biip.parse(scanned).gs1_message
            if parsed is None:
                raise ValueError("no GS1 message")
            message = parsed
    except (ValueError, biip.ParseError):
        raise InvalidNdc("not a GS1 element string with a GTIN") from None
    for element in message.element_strings:
        if element.ai.ai == "01":
            return str(element.value)
    raise InvalidNdc("the GS1 element string carries no GTIN (AI 01)")
