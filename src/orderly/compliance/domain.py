"""Compliance's rules (pharma rules §2, §3): who may buy what, shipped where, and which
orders suspicious order monitoring holds for an analyst. Pure: the caller loads the
account's and the products' copies and the history, and records what is decided."""

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from orderly.compliance.som import SomHistory, SomSettings, som_hit

__all__ = [
    "NEEDS",
    "Account",
    "Csos",
    "Line",
    "Order",
    "Product",
    "Refusal",
    "SomHistory",
    "SomSettings",
    "csos_payload",
    "eligibility",
    "som_hit",
]

# The registration schedules a product of each DEA schedule needs, all of them: the catalog
# does not say whether a CII or CIII product is a narcotic, so both halves are needed (a
# sale is never made on a guess). Schedule I, or any other, is never sold.
NEEDS: dict[str, frozenset[str]] = {
    "CII": frozenset({"2", "2N"}),
    "CIII": frozenset({"3", "3N"}),
    "CIV": frozenset({"4"}),
    "CV": frozenset({"5"}),
}

# A CSOS order number: the year's two digits, `X`, six characters (pharma rules §3.4).
CSOS_ORDER_NUMBER = re.compile(r"^\d{2}X[A-Z0-9]{6}$")


class Lineish(Protocol):
    @property
    def product_id(self) -> str: ...

    @property
    def quantity(self) -> int: ...


def csos_payload(order_number: str, dea_number: str, lines: Iterable[Lineish]) -> bytes:
    """What a CSOS signature signs: `CSOS1|<order number>|<DEA number>|<product>:<qty>|...`,
    the lines sorted by product id, in UTF-8."""
    parts = [f"{line.product_id}:{line.quantity}" for line in lines]
    return "|".join(["CSOS1", order_number, dea_number, *sorted(parts)]).encode()


@dataclass(frozen=True)
class Account:
    """What compliance keeps of an account: its DEA registration and state licence."""

    account_id: str
    dea_number: str | None  # None: no registration on record
    schedules: frozenset[str] = frozenset()
    dea_expires_on: date | None = None
    dea_active: bool = False
    registered_address: Mapping[str, Any] | None = None
    licence_state: str | None = None
    licence_expires_on: date | None = None
    can_order_schedule_ii: bool = False
    csos_certificate: str | None = None  # PEM


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    dea_schedule: str | None
    family: str
    units_per_package: int = 1
    serialized: bool = True


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int  # packages


@dataclass(frozen=True)
class Csos:
    order_number: str
    signature: str  # base64 DER


@dataclass(frozen=True)
class Order:
    order_id: str
    order_date: date
    ship_to: Mapping[str, Any]
    lines: Sequence[Line]
    csos: Csos | None = None


@dataclass(frozen=True)
class Refusal:
    """Why an order may not be sold: `rule` the family of rules, `reason` the stable code,
    `detail` a sentence the pharmacy can read."""

    rule: str
    reason: str
    detail: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def _controlled(products: Sequence[Product]) -> list[Product]:
    return [p for p in products if p.dea_schedule]


def eligibility(
    account: Account | None, order: Order, products: Mapping[str, Product]
) -> Refusal | None:
    """The first rule the order breaks, or None if it may be sold (before SOM): trading
    partner, DSCSA, then, for controlled lines, the DEA registration and CSOS."""
    if account is None or not account.dea_number:
        return Refusal(
            "trading_partner",
            "no_registration",
            "We have no registration on record for your account; contact us to register it.",
        )
    missing = sorted({line.product_id for line in order.lines} - products.keys())
    if missing:
        return Refusal(
            "catalog",
            "product_unknown",
            f"We cannot check product(s) {', '.join(missing)}: they are not in our records.",
            {"productIds": missing},
        )
    ordered = [products[line.product_id] for line in order.lines]
    return (
        _dscsa(account, order, ordered)
        or _dea(account, order, _controlled(ordered))
        or _csos(account, order, ordered)
    )


def _dscsa(account: Account, order: Order, ordered: Sequence[Product]) -> Refusal | None:
    expires = account.licence_expires_on
    if not account.licence_state or expires is None or expires < order.order_date:
        return Refusal(
            "dscsa",
            "state_licence_invalid",
            "Your state licence is missing or expired: we may only sell to licensed partners.",
        )
    unserialized = sorted({p.product_id for p in ordered if not p.serialized})
    if unserialized:
        return Refusal(
            "dscsa",
            "product_not_serialized",
            f"Product(s) {', '.join(unserialized)} carry no product identifier and cannot be sold.",
            {"productIds": unserialized},
        )
    return None


def _dea(account: Account, order: Order, controlled: Sequence[Product]) -> Refusal | None:
    if not controlled:
        return None
    if not account.dea_active:
        return Refusal(
            "dea",
            "dea_registration_inactive",
            "Your DEA registration is not active: controlled substances cannot be shipped.",
        )
    if account.dea_expires_on is None or account.dea_expires_on < order.order_date:
        return Refusal(
            "dea",
            "dea_registration_expired",
            "Your DEA registration has expired: controlled substances cannot be shipped.",
        )
    uncovered = sorted(
        {
            f"{p.product_id} ({p.dea_schedule})"
            for p in controlled
            if not NEEDS.get(p.dea_schedule or "", frozenset({"never"})) <= account.schedules
        }
    )
    if uncovered:
        return Refusal(
            "dea",
            "schedule_not_covered",
            f"Your DEA registration does not cover {', '.join(uncovered)}.",
        )
    if account.registered_address is None or not same_address(
        account.registered_address, order.ship_to
    ):
        return Refusal(
            "dea",
            "ship_to_not_registered",
            "Controlled substances ship only to your DEA-registered address.",
        )
    return None


def _csos(account: Account, order: Order, ordered: Sequence[Product]) -> Refusal | None:
    if not any(p.dea_schedule == "CII" for p in ordered):
        return None
    if not account.can_order_schedule_ii:
        return Refusal(
            "csos",
            "schedule_ii_not_permitted",
            "Your account is not enrolled to order Schedule II substances.",
        )
    csos = order.csos
    if csos is None:
        return Refusal(
            "csos", "csos_signature_missing", "A Schedule II order needs a CSOS signature."
        )
    if not CSOS_ORDER_NUMBER.match(csos.order_number):
        return Refusal(
            "csos",
            "csos_order_number_invalid",
            f"CSOS order number {csos.order_number!r} is not valid (e.g. 26X000123).",
        )
    return _signature(account, order, csos)


def _signature(account: Account, order: Order, csos: Csos) -> Refusal | None:
    """The signature is checked against the certificate registered with the account, which
    must be valid on the order's date; a defective order is refused, never corrected."""
    if not account.csos_certificate:
        return Refusal(
            "csos",
            "csos_certificate_missing",
            "No CSOS certificate is registered with your account.",
        )
    try:
        certificate = x509.load_pem_x509_certificate(account.csos_certificate.encode())
        key = certificate.public_key()
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return _bad_signature("the registered certificate is not a CSOS (P-256) certificate")
    start = certificate.not_valid_before_utc.date()
    end = certificate.not_valid_after_utc.date()
    if not start <= order.order_date <= end:
        return Refusal(
            "csos",
            "csos_certificate_expired",
            "Your CSOS certificate is not valid on the order's date; reissue the order.",
        )
    payload = csos_payload(csos.order_number, account.dea_number or "", order.lines)
    try:
        signature = base64.b64decode(csos.signature, validate=True)
        key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return _bad_signature("the signature does not match the order")
    return None


def _bad_signature(why: str) -> Refusal:
    return Refusal(
        "csos",
        "csos_signature_invalid",
        f"The order's CSOS signature is not valid ({why}); reissue the order.",
    )


def _norm(text: object) -> str:
    return " ".join(re.sub(r"[^0-9a-z ]", " ", str(text or "").casefold()).split())


def _field(address: Mapping[str, Any], *names: str) -> object:
    return next((address[n] for n in names if address.get(n)), "")


def address_key(address: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """An address as compared: line 1, city, state, postal code (5 characters: ZIP+4 is the
    same place), case, punctuation and spacing aside."""
    postal = _norm(_field(address, "postal_code", "postalCode", "zip")).replace(" ", "")
    return (
        _norm(_field(address, "line1", "line_1", "street")),
        _norm(_field(address, "city")),
        _norm(_field(address, "state")),
        postal[:5],
    )


def same_address(registered: Mapping[str, Any], ship_to: Mapping[str, Any]) -> bool:
    key = address_key(registered)
    return all(key) and key == address_key(ship_to)


def dosage_units(lines: Sequence[Line], products: Mapping[str, Product]) -> dict[str, int]:
    """The controlled lines' dosage units, by drug family (SOM counts in units, not packs)."""
    units: dict[str, int] = {}
    for line in lines:
        product = products[line.product_id]
        if product.dea_schedule:
            units[product.family] = (
                units.get(product.family, 0) + line.quantity * product.units_per_package
            )
    return units


def units_per_package(pack_size: str | None) -> int:
    """The dosage units of a package from the NDC directory's pack size ("100 TABLET in 1
    BOTTLE" -> 100); 1 if it does not say."""
    found = re.match(r"\s*(\d+)", pack_size or "")
    return max(1, int(found.group(1))) if found else 1


def default_family(name: str) -> str:
    """A product's drug family until an operator sets it: its name's first word."""
    words = _norm(name).split()
    return words[0] if words else "unknown"
