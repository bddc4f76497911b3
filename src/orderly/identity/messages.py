"""Identity's public messages."""

SOURCE = "user-service"

USER_CREATED = "user.created"

PUBLISHES = (USER_CREATED,)
