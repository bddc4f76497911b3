"""Notifications' public messages: none yet. It follows other contexts' events and sends
mail; what it sent is in its own log (`/api/v1/notifications/mails`)."""

from orderly.messaging import Message

SOURCE = "notification-service"

MESSAGES: tuple[type[Message], ...] = ()
PUBLISHES: tuple[str, ...] = ()
