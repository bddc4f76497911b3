"""Identity's public messages."""

SOURCE = "user-service"

USER_CREATED = "user.created"
# A session ended before its tokens expired (logout, refresh-token reuse, finished enrolment):
# {sessionId, userId, reason}. Every process that checks tokens drops what it cached.
SESSION_REVOKED = "session.revoked"
# {userId}: every session of the user ended.
USER_DISABLED = "user.disabled"

# A B2B account was opened: {accountId, name, segment, id340b, canOrderScheduleII}.
ACCOUNT_CREATED = "account.created"

REVOCATIONS = (SESSION_REVOKED, USER_DISABLED)
PUBLISHES = (USER_CREATED, ACCOUNT_CREATED, *REVOCATIONS)
