"""Compliance's public messages: the checkout saga's commands it answers, and its decisions.

Every decision names the saga's `run` it answers (a failed checkout replayed by an operator
runs again, and is checked again), so a late answer to an earlier run is never taken for
this one.
"""

from datetime import date
from typing import Any

from orderly.messaging import Message, Part

SOURCE = "compliance-service"


class ComplianceLine(Part):
    product_id: str
    quantity: int  # packages, as ordered


class CsosSignature(Part):
    """A Schedule II order's CSOS signature: the purchaser's order number and an ECDSA
    signature (base64, DER) over `compliance.domain.csos_payload(...)`, made with the key of
    the certificate registered with the account."""

    order_number: str
    signature: str


class CheckCompliance(Message):
    """The checkout saga's first step: may this account have these lines, shipped there?
    Answered with `compliance.passed`, `compliance.rejected` or `compliance.held`."""

    TYPE = "compliance.check"

    order_id: str
    run: int
    user_id: str
    account_id: str | None
    order_date: date
    ship_to: dict[str, Any]
    items: list[ComplianceLine]
    csos: CsosSignature | None = None


class CompliancePassed(Message):
    """Every rule passed (or an analyst released the hold, with a diligence note)."""

    TYPE = "compliance.passed"

    order_id: str
    run: int
    decision_id: str


class ComplianceRejected(Message):
    """A rule refused the order; `reason` is a stable code, `detail` a sentence the pharmacy
    can read. `reported`: an analyst reported the held order as suspicious (it is cancelled,
    never retried)."""

    TYPE = "compliance.rejected"

    order_id: str
    run: int
    decision_id: str
    rule: str
    reason: str
    detail: str
    reported: bool = False


class ComplianceHeld(Message):
    """Suspicious order monitoring held the order for an analyst; the saga waits for
    `compliance.passed` (released) or `compliance.rejected` (reported)."""

    TYPE = "compliance.held"

    order_id: str
    run: int
    decision_id: str
    hold_id: str
    rule: str
    detail: str


class VoidCompliance(Message):
    """The compensation of a check: its decision no longer stands (voided, never deleted)."""

    TYPE = "compliance.void"

    order_id: str
    run: int
    reason: str


class ComplianceVoided(Message):
    TYPE = "compliance.voided"

    order_id: str
    run: int


MESSAGES = (
    CheckCompliance,
    CompliancePassed,
    ComplianceRejected,
    ComplianceHeld,
    VoidCompliance,
    ComplianceVoided,
)
PUBLISHES = (
    CompliancePassed.TYPE,
    ComplianceRejected.TYPE,
    ComplianceHeld.TYPE,
    ComplianceVoided.TYPE,
)
