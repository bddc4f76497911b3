"""What a BFF asks of the contexts: the query-client port, and how its calls fail.

Every answer is in the shape and casing the context's REST route answers (docs/api.md), in
both implementations: in-process (`local.LocalContexts`) and over HTTP
(`remote.HttpContexts`). A context's own refusal reaches the BFF's caller as the context
made it (`Refused`: its status and code); a context that does not answer in time, or cannot
be reached, is `ContextUnavailable`, which an aggregate turns into a part marked
unavailable."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from orderly.kernel.errors import OrderlyError
from orderly.kernel.principal import Principal

Json = dict[str, Any]


class ContextUnavailable(OrderlyError):
    status = 503
    code = "context_unavailable"
    title = "A context this answer needs did not answer"

    def __init__(self, context: str, reason: str) -> None:
        super().__init__(f"{context} did not answer ({reason})", context=context, reason=reason)
        self.context = context
        self.reason = reason


class Refused(OrderlyError):
    """A context's refusal, passed on as it was made: its status, code, title and the rest
    of its problem."""

    def __init__(self, problem: Mapping[str, Any], status: int) -> None:
        extensions = {
            key: value
            for key, value in problem.items()
            if key not in {"type", "title", "status", "detail", "code"}
        }
        super().__init__(str(problem.get("detail", "")), **extensions)
        self.status = status
        self.code = str(problem.get("code", "bad_request"))
        self.title = str(problem.get("title", "Refused"))


@dataclass(frozen=True)
class Forwarded:
    """A command sent to a context as its REST route takes it."""

    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # the client's address, as the BFF saw it (sent as X-Forwarded-For)
    client: str | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class Contexts(Protocol):
    """One call to one context each; lists are one call for all their ids."""

    # catalog
    async def product(self, caller: Principal, product_id: str) -> Json: ...
    async def products(self, caller: Principal, ids: Sequence[str]) -> list[Json]: ...
    async def search(self, caller: Principal, q: str | None, limit: int, offset: int) -> list[Json]:
        """`q` as `GET /api/v1/products?q=` takes it: an NDC in any format, a GTIN, words."""
        ...

    # pricing
    async def quotes(self, caller: Principal, items: Sequence[tuple[str, int]]) -> list[Json]: ...

    # inventory
    async def stock(self, caller: Principal, product_ids: Sequence[str]) -> list[Json]: ...

    # ordering
    async def order(self, caller: Principal, order_id: str) -> Json: ...
    async def orders(self, caller: Principal, query: Sequence[tuple[str, str]]) -> list[Json]:
        """`GET /api/v1/orders` with `query` as its parameters (filters, ids, expand)."""
        ...

    # identity
    async def user(self, caller: Principal, user_id: str) -> Json: ...
    async def address(self, caller: Principal, user_id: str, address_id: str) -> Json: ...

    # payments
    async def payment_method(self, caller: Principal, method_id: str) -> Json: ...
    async def payments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]: ...

    # fulfillment
    async def shipments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]: ...

    # commands, as the context's REST route takes them, on the caller's behalf (or none's)
    async def send(self, context: str, caller: Principal | None, request: Forwarded) -> Answer: ...

    async def close(self) -> None: ...
