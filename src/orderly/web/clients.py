"""HTTP clients from one of Orderly's services to another (ordering asking pricing, say).

A kept-alive connection may be closed by the server between two requests (uvicorn closes an
idle one after a few seconds); a request sent on it just then fails before any answer. Such
a failure is sent again, once, on a new connection, when the request may be repeated: one of HTTP's
idempotent methods (GET, PUT, DELETE...), or a request its caller marks `REPEATABLE` (a POST
that only reads, as a price quote).

While tracing is on, each request carries the current span's `traceparent`: the service
called opens its request's span under it.
"""

from typing import Any

import httpx

from orderly import tracing

# `extensions=REPEATABLE` on a request that changes nothing, whatever its method
REPEATABLE: dict[str, Any] = {"orderly_repeatable": True}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _OnceMore(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if tracing.ON:
            tracing.inject(request.headers)
        try:
            return await super().handle_async_request(request)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            if request.method not in _IDEMPOTENT and not request.extensions.get(
                "orderly_repeatable"
            ):
                raise
            return await super().handle_async_request(request)


def service_client(base_url: str, timeout: float) -> httpx.AsyncClient:
    """A client to another of the deployment's services, at `base_url`."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=_OnceMore())
