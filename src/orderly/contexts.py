"""What a bounded context contributes to a running Orderly: tables, messages, routes."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fastapi import APIRouter

from orderly.messaging.routing import Handler, Subscription
from orderly.storage import Database

if TYPE_CHECKING:
    from orderly.config import Settings

# A background loop of a context: given its database and a period in seconds, runs until
# cancelled.
Worker = Callable[[Database, float], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ContextSpec:
    name: str
    source: str
    publishes: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    router: APIRouter
    tables: sa.MetaData
    """The context's own tables, which its migrations must produce (besides messaging's)."""
    workers: tuple[Worker, ...] = ()
    # Applies the deployment's settings to the context's module-level policy (once, at start).
    configure: Callable[["Settings"], None] | None = None


def consumer(context: str, handler: Handler, *types: str) -> Subscription:
    """`handler` runs in `context`'s database for each message of `types`; the consumer (and
    its queue) is named after the context and the handler."""
    return Subscription(f"{context}.{handler.__name__}", context, types, handler)
