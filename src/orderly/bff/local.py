"""The contexts served by this process, in-process: the product page's reads, an order's,
a user's and the payments and shipments of orders are calls to the contexts' queries,
answered in their routes' shapes; the rest go to the contexts' own routes in this process's
application, without a socket."""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from orderly.bff.calls import Calls
from orderly.bff.port import Json
from orderly.bff.remote import HttpContexts, Params
from orderly.catalog import cached
from orderly.catalog import service as catalog
from orderly.catalog.api import ProductOut
from orderly.fulfillment import service as fulfillment
from orderly.fulfillment.api import ShipmentOut
from orderly.identity import users
from orderly.identity.api.users import UserOut
from orderly.inventory import queries as inventory
from orderly.inventory.api.stock import PositionOut
from orderly.kernel.principal import Principal
from orderly.ordering import queries as ordering
from orderly.ordering.api.orders import OrderOut, in_snake_case
from orderly.payments import queries as payments
from orderly.payments.api import PaymentOut
from orderly.pricing import quoting
from orderly.pricing.api import QuoteLineOut
from orderly.storage import Database
from orderly.storage.cache import Shelf

# what pricing's quotes show of a product without a price
_UNPRICED = dict.fromkeys(
    ("price", "currency", "source", "contract_id", "min_quantity", "effective_date")
)


class AsgiExchange:
    """Requests to this process's own application, in-process."""

    def __init__(self, app: Any) -> None:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))
        self._client = httpx.AsyncClient(transport=transport, base_url="http://orderly.internal")

    async def __call__(
        self,
        context: str,
        method: str,
        path: str,
        params: Params,
        body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, Mapping[str, str]]:
        answer = await self._client.request(
            method, path, params=list(params), json=body, headers=dict(headers)
        )
        return answer.status_code, answer.content, dict(answer.headers)

    async def close(self) -> None:
        await self._client.aclose()


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _shaped(
    model: type[BaseModel],
    value: Mapping[str, Any],
    *,
    exclude_none: bool = False,
    exclude_unset: bool = False,
) -> Json:
    """`value` as the route answering with `model` shows it."""
    adapter = _adapter(model)
    shown: Json = adapter.dump_python(
        adapter.validate_python(value),
        mode="json",
        exclude_none=exclude_none,
        exclude_unset=exclude_unset,
    )
    return shown


class LocalContexts(HttpContexts):
    def __init__(
        self,
        databases: Mapping[str, Database],
        app: Any,
        calls: Calls,
        *,
        products: Shelf | None = None,
        orders: Shelf | None = None,
    ) -> None:
        super().__init__(AsgiExchange(app), calls)
        self.databases = databases
        # the read cache's products and orders, as the contexts' own routes read them
        self.product_cache = products
        self.order_cache = orders

    async def product(self, caller: Principal, product_id: str) -> Json:
        async def call() -> Json:
            db = self.databases["catalog"]
            if self.product_cache is None:
                found = await catalog.get_product(db, product_id)
            else:
                found = await cached.get_product(db, self.product_cache, product_id)
            return _shaped(ProductOut, found)

        return await self.calls.run("catalog", call)

    async def products(self, caller: Principal, ids: Sequence[str]) -> list[Json]:
        async def call() -> list[Json]:
            db = self.databases["catalog"]
            if self.product_cache is None:
                found = await catalog.products_by_ids(db, ids)
            else:
                found = await cached.products_by_ids(db, self.product_cache, ids)
            return [_shaped(ProductOut, product) for product in found]

        return await self.calls.run("catalog", call) if ids else []

    async def quotes(self, caller: Principal, items: Sequence[tuple[str, int]]) -> list[Json]:
        async def call() -> list[Json]:
            found = await quoting.quotes_for(self.databases["pricing"], caller.account, items)
            return [
                _shaped(QuoteLineOut, quote or {"product_id": p, "quantity": q} | _UNPRICED)
                for (p, q), quote in zip(items, found, strict=True)
            ]

        return await self.calls.run("pricing", call) if items else []

    async def stock(self, caller: Principal, product_ids: Sequence[str]) -> list[Json]:
        async def call() -> list[Json]:
            db = self.databases["inventory"]
            found = await inventory.positions(db, product_ids, with_lots=caller.is_operator)
            return [_shaped(PositionOut, one, exclude_none=True) for one in found]

        return await self.calls.run("inventory", call) if product_ids else []

    async def order(self, caller: Principal, order_id: str) -> Json:
        async def call() -> Json:
            db = self.databases["ordering"]
            found = await ordering.get_order(db, caller, order_id, self.order_cache)
            return _shaped(OrderOut, in_snake_case(found), exclude_unset=True)

        return await self.calls.run("ordering", call)

    async def user(self, caller: Principal, user_id: str) -> Json:
        async def call() -> Json:
            return _shaped(
                UserOut, await users.get_user(self.databases["identity"], caller, user_id)
            )

        return await self.calls.run("identity", call)

    async def payments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]:
        async def call() -> list[Json]:
            db = self.databases["payments"]
            found = await payments.payments_of_orders(db, caller, order_ids)
            return [_shaped(PaymentOut, payment) for payment in found]

        return await self.calls.run("payments", call) if order_ids else []

    async def shipments(self, caller: Principal, order_ids: Sequence[str]) -> list[Json]:
        async def call() -> list[Json]:
            db = self.databases["fulfillment"]
            # with orders named, every shipment of theirs (the limit is for the caller's list)
            found = await fulfillment.find_shipments(db, caller, order_ids, limit=1)
            return [_shaped(ShipmentOut, shipment) for shipment in found]

        return await self.calls.run("fulfillment", call) if order_ids else []
