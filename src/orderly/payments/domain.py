"""Payment rules: the states of a payment, and what a payment method may be.

    pending ──> captured ──> refunded
       │  └───> failed
       └──────> cancelled          (the order was cancelled before it was charged)

An authorisation that cannot be captured is voided, and the payment fails.
"""

import re
from enum import StrEnum

from orderly.kernel.errors import Unprocessable


class PaymentStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


# A gateway's token for a card, never the card itself.
TOKEN = re.compile(r"^tok_[A-Za-z0-9_]{1,60}$")
SAVED = re.compile(r"^pm_[0-9a-f-]{36}$")


class InvalidPaymentMethod(Unprocessable):
    code = "invalid_payment_method"
    title = "Payment method is not a gateway token"


def check_token(token: str) -> None:
    if not TOKEN.match(token):
        raise InvalidPaymentMethod(
            "a payment method is a gateway token (tok_…); card numbers are never accepted"
        )


def hint(token: str) -> str:
    """What may be shown of a token: its last four characters."""
    return f"…{token[-4:]}"
