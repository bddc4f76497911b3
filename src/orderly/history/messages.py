"""History's public messages: none. It follows the other contexts' events about orders and keeps
them; what it keeps is read over HTTP (`/api/v1/orders/{id}/events`, `/api/v1/reports/...`)."""

from orderly.messaging import Message

SOURCE = "history-service"

MESSAGES: tuple[type[Message], ...] = ()
PUBLISHES: tuple[str, ...] = ()
