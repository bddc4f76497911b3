"""Identity's public messages."""

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from orderly.messaging import Message, Part

SOURCE = "user-service"


class UserCreated(Message):
    """Seed 002's `{userId, email, firstName, lastName}`."""

    TYPE = "user.created"

    user_id: str
    email: str
    first_name: str
    last_name: str


class SessionRevoked(Message):
    """A session ended before its tokens expired (logout, refresh-token reuse, finished
    enrolment): every process that checks tokens drops what it cached of it."""

    TYPE = "session.revoked"

    session_id: str
    user_id: str
    reason: str


class UserDisabled(Message):
    """Every session of the user ended."""

    TYPE = "user.disabled"

    user_id: str


class Registration(Part):
    """An account's DEA registration and state licence, as the registrant record has them."""

    dea_number: str
    dea_schedules: list[str]
    dea_expires_on: date
    dea_active: bool
    # the registered location: a controlled order ships there only
    registered_address: dict[str, Any] | None
    licence_state: str | None
    licence_expires_on: date | None


class AccountCreated(Message):
    """A B2B account was opened."""

    TYPE = "account.created"

    account_id: str
    name: str
    segment: str
    id340b: str | None
    can_order_schedule_ii: bool = msgspec.field(name="canOrderScheduleII")
    # what compliance checks an order against (pharma rules §2, §3)
    registration: Registration | None = None


class AccountUpdated(Message):
    """The account's registration, CSOS certificate (PEM) or approval threshold changed; the
    message carries the whole of each, as it now stands."""

    TYPE = "account.updated"

    account_id: str
    can_order_schedule_ii: bool = msgspec.field(name="canOrderScheduleII")
    registration: Registration
    csos_certificate: str | None
    approval_threshold: Decimal | None


MESSAGES = (UserCreated, SessionRevoked, UserDisabled, AccountCreated, AccountUpdated)
REVOCATIONS = (SessionRevoked.TYPE, UserDisabled.TYPE)
PUBLISHES = tuple(m.TYPE for m in MESSAGES)
