"""What a bounded context contributes to a running Orderly: tables, messages, routes."""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import APIRouter

from orderly.messaging.routing import Subscription


@dataclass(frozen=True)
class ContextSpec:
    name: str
    source: str
    publishes: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    router: Callable[[], APIRouter]
    tables: sa.MetaData
    """The context's own tables, which its migrations must produce (besides messaging's)."""
