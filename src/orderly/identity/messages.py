"""Identity's public messages."""

import msgspec

from orderly.messaging import Message

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


class AccountCreated(Message):
    """A B2B account was opened."""

    TYPE = "account.created"

    account_id: str
    name: str
    segment: str
    id340b: str | None
    can_order_schedule_ii: bool = msgspec.field(name="canOrderScheduleII")


MESSAGES = (UserCreated, SessionRevoked, UserDisabled, AccountCreated)
REVOCATIONS = (SessionRevoked.TYPE, UserDisabled.TYPE)
PUBLISHES = tuple(m.TYPE for m in MESSAGES)
