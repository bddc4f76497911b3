"""How the BFFs reach the contexts in this process: in-process where it serves every context
they call, over HTTP to each one's service otherwise."""

from collections.abc import Mapping
from typing import Any

from orderly.bff.calls import Calls
from orderly.bff.local import LocalContexts
from orderly.bff.port import Contexts
from orderly.bff.remote import AiohttpExchange, HttpContexts
from orderly.config import BFF_CONTEXTS, Settings
from orderly.storage import Database


def contexts(settings: Settings, databases: Mapping[str, Database], app: Any) -> Contexts | None:
    """The BFFs' way to the contexts: in-process when this process serves every one they call
    (`app` is this process's application), else over HTTP to each one's service."""
    if not settings.bffs:
        return None
    commands = settings.bff_command_timeout
    if set(BFF_CONTEXTS) <= databases.keys():
        calls = Calls(settings.bff_timeout, command_timeout=commands)
        run = getattr(app.state, "runtime", None)  # the process's, with its read cache
        products, orders = (None, None) if run is None else (run.product_cache, run.order_cache)
        return LocalContexts(databases, app, calls, products=products, orders=orders)
    calls = Calls(
        settings.bff_timeout,
        command_timeout=commands,
        threshold=settings.breaker_threshold,
        ttl=settings.breaker_ttl,
    )
    return HttpContexts(AiohttpExchange(settings.bff_urls()), calls)
