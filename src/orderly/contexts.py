"""What a bounded context contributes to a running Orderly: tables, messages, routes, and the
handlers and workers it wires from the deployment's settings."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fastapi import APIRouter

from orderly.messaging import Message
from orderly.messaging.routing import Concerns, Handler, Subscription
from orderly.storage import Database

if TYPE_CHECKING:
    from orderly.config import Settings

# A background loop of a context: given its database and a period in seconds, runs until
# cancelled.
Worker = Callable[[Database, float], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Wired:
    """A context's consumers and background loops, with the deployment's settings bound in."""

    subscriptions: tuple[Subscription, ...] = ()
    workers: tuple[Worker, ...] = ()


@dataclass(frozen=True)
class ContextSpec:
    name: str
    source: str
    publishes: tuple[str, ...]
    router: APIRouter
    tables: sa.MetaData
    """The context's own tables, which its migrations must produce (besides messaging's)."""
    # Binds the deployment's settings into the context's handlers and workers. It does no
    # I/O: every process calls it for every context, to know the whole topology.
    wire: Callable[["Settings"], Wired]
    # Each route declares who may call it (login is open; a WMS reports with the service
    # key): the gateway does not ask every caller for a token first.
    guards_own_routes: bool = False


def consumer(
    context: str, handler: Handler, *kinds: type[Message], concerns: Concerns | None = None
) -> Subscription:
    """`handler` runs in `context`'s database for each message of `kinds` (that `concerns`
    it, if given); the consumer (and its queue) is named after the context and the handler."""
    types = tuple(kind.TYPE for kind in kinds)
    return Subscription(f"{context}.{handler.__name__}", context, types, handler, concerns)
