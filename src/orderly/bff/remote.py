"""The contexts through their REST routes, with the caller's token: over HTTP to each
context's service (`HttpContexts`), or to the process's own application in-process
(`local.LocalContexts` builds on this with an in-process exchange)."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

import orjson

from orderly.bff.calls import Calls
from orderly.bff.port import Answer, ContextUnavailable, Forwarded, Json, Refused
from orderly.kernel.principal import Principal

Params = Sequence[tuple[str, str]]


class Exchange(Protocol):
    """One request to a context's routes: its status, body and headers, or an OSError-like
    failure to reach it (raised as `ContextUnavailable` by the caller)."""

    async def __call__(
        self,
        context: str,
        method: str,
        path: str,
        params: Params,
        body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, Mapping[str, str]]: ...

    async def close(self) -> None: ...


class AiohttpExchange:
    """Each context's service at its base URL, over kept-alive connections (aiohttp: with
    many calls at once it costs a tenth of what httpx does, docs/performance.md)."""

    def __init__(self, urls: Mapping[str, str], connections: int = 100) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.connections = connections
        self._session: Any = None

    def _http(self) -> Any:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def __call__(
        self,
        context: str,
        method: str,
        path: str,
        params: Params,
        body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, Mapping[str, str]]:
        import aiohttp

        url = self.urls[context] + path
        try:
            async with self._http().request(
                method, url, params=list(params), json=body, headers=dict(headers)
            ) as answer:
                return answer.status, await answer.read(), dict(answer.headers)
        except (aiohttp.ClientError, OSError) as error:
            raise ContextUnavailable(context, f"unreachable ({type(error).__name__})") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# Headers a command carries on to the context, from the BFF's request. A client's own
# X-Forwarded-For is never among them: the BFF names its client itself where it must.
FORWARDED_HEADERS = ("idempotency-key", "content-type")


class HttpContexts:
    """`port.Contexts` through each context's REST routes."""

    def __init__(self, exchange: Exchange, calls: Calls) -> None:
        self.exchange = exchange
        self.calls = calls

    async def _get(self, context: str, caller: Principal, path: str, params: Params = ()) -> Any:
        answer = await self._send(context, caller, Forwarded("GET", path), params)
        return _answered(answer)

    async def _send(
        self, context: str, caller: Principal | None, request: Forwarded, params: Params = ()
    ) -> Answer:
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
        if request.client is not None:
            headers["x-forwarded-for"] = request.client
        if caller is not None:
            headers["Authorization"] = f"Bearer {caller.token}"

        async def call() -> Answer:
            status, raw, answered = await self.exchange(
                context, request.method, request.path, params, request.body, headers
            )
            body = _json(raw)
            if status >= 500 and not _refusal(body):
                raise ContextUnavailable(context, f"HTTP {status}")
            return Answer(status, body, answered)

        return await self.calls.run(context, call, command=request.method != "GET")

    # catalog

    async def product(self, caller: Principal, product_id: str) -> Json:
        found: Json = await self._get("catalog", caller, f"/api/v1/products/{_part(product_id)}")
        return found

    async def products(self, caller: Principal, ids: Sequence[str]) -> list[Json]:
        if not ids:
            return []
        return await self._list("catalog", caller, "/api/v1/products", [("id", i) for i in ids])

    async def search(self, caller: Principal, q: str | None, limit: int, offset: int) -> list[Json]:
        params = [("limit", str(limit)), ("offset", str(offset))]
        if q:
            params.append(("q", q))
        return await self._list("catalog", caller, "/api/v1/products", params)

    # pricing

    async def quotes(self, caller: Principal, items: Sequence[tuple[str, int]]) -> list[Json]:
        if not items:
            return []
        body = {"items": [{"product_id": p, "quantity": q} for p, q in items]}
        request = Forwarded("POST", "/api/v1/prices/quotes", body)
        answered: Json = _answered(await self._send("pricing", caller, request))
        quoted: list[Json] = answered["items"]
        return quoted

    # inventory

    async def stock(self, caller: Principal, product_ids: Sequence[str]) -> list[Json]:
        if not product_ids:
            return []
        params = [("product", p) for p in product_ids]
        return await self._list("inventory", caller, "/api/v1/inventory", params)

    # ordering

    async def order(self, caller: Principal, order_id: str) -> Json:
        found: Json = await self._get("ordering", caller, f"/api/v1/orders/{_part(order_id)}")
        return found

    async def orders(self, caller: Principal, query: Sequence[tuple[str, str]]) -> list[Json]:
        return await self._list("ordering", caller, "/api/v1/orders", query)

    # identity

    async def user(self, caller: Principal, user_id: str) -> Json:
        found: Json = await self._get("identity", caller, f"/api/v1/users/{_part(user_id)}")
        return found

    async def address(self, caller: Principal, user_id: str, address_id: str) -> Json:
        path = f"/api/v1/users/{_part(user_id)}/addresses/{_part(address_id)}"
        found: Json = await self._get("identity", caller, path)
        return found

    # payments

    async def payment_method(self, caller: Principal, method_id: str) -> Json:
        path = f"/api/v1/payment-methods/{_part(method_id)}"
        found: Json = await self._get("payments", caller, path)
        return found

    async def payments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]:
        if not order_ids:
            return []
        params = [("order_id", o) for o in order_ids]
        return await self._list("payments", caller, "/api/v1/payments", params)

    # fulfillment

    async def shipments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]:
        if not order_ids:
            return []
        params = [("order_id", o) for o in order_ids]
        return await self._list("fulfillment", caller, "/api/v1/shipments", params)

    # commands

    async def send(self, context: str, caller: Principal | None, request: Forwarded) -> Answer:
        return await self._send(context, caller, request)

    async def _list(self, context: str, caller: Principal, path: str, params: Params) -> list[Json]:
        found: list[Json] = await self._get(context, caller, path, params)
        return found

    async def close(self) -> None:
        await self.exchange.close()


def _part(value: str) -> str:
    """An id as one path segment, whatever it holds."""
    return quote(value, safe="")


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return {"detail": raw[:200].decode(errors="replace")}


def _refusal(body: Any) -> bool:
    """A problem the context answered on purpose (its 503 `dependency_unavailable`, say),
    passed on as it is, not a context that failed."""
    return isinstance(body, dict) and body.get("code") not in (None, "internal_error")


def _answered(answer: Answer) -> Any:
    if answer.status >= 400:
        problem = answer.body if isinstance(answer.body, dict) else {}
        raise Refused(problem, answer.status)
    return answer.body
