"""A GraphQL request's DataLoaders: however many products, prices, stock figures, payments
or shipments a query's fields ask for in one step, each context is called once for them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from orderly.bff.port import Contexts, Json
from orderly.kernel.batch import MAX_BATCH
from orderly.kernel.principal import Principal

Price = tuple[str, int]  # a product and a quantity


@dataclass
class Loaders:
    products: DataLoader[str, Json | None]
    prices: DataLoader[Price, Json | None]
    stock: DataLoader[str, Json | None]
    payments: DataLoader[str, list[Json]]
    shipments: DataLoader[str, list[Json]]


def loaders(contexts: Contexts, caller: Principal) -> Loaders:
    async def products(ids: Sequence[str]) -> list[Json | None]:
        found = {product["id"]: product for product in await contexts.products(caller, ids)}
        return [found.get(i) for i in ids]

    async def prices(asked: Sequence[Price]) -> list[Json | None]:
        quoted = await contexts.quotes(caller, asked)
        return [quote if quote.get("price") is not None else None for quote in quoted]

    async def stock(ids: Sequence[str]) -> list[Json | None]:
        found = {one["product_id"]: one for one in await contexts.stock(caller, ids)}
        return [found.get(i) for i in ids]

    async def payments(order_ids: Sequence[str]) -> list[list[Json]]:
        return _by_order(order_ids, await contexts.payments(caller, order_ids))

    async def shipments(order_ids: Sequence[str]) -> list[list[Json]]:
        return _by_order(order_ids, await contexts.shipments(caller, order_ids))

    # the contexts' batch routes take at most MAX_BATCH ids a call
    return Loaders(
        DataLoader(products, max_batch_size=MAX_BATCH),
        DataLoader(prices, max_batch_size=MAX_BATCH),
        DataLoader(stock, max_batch_size=MAX_BATCH),
        DataLoader(payments, max_batch_size=MAX_BATCH),
        DataLoader(shipments, max_batch_size=MAX_BATCH),
    )


def _by_order(order_ids: Sequence[str], rows: list[dict[str, Any]]) -> list[list[Json]]:
    grouped: dict[str, list[Json]] = {order_id: [] for order_id in order_ids}
    for row in rows:
        grouped.setdefault(row["order_id"], []).append(row)
    return [grouped[order_id] for order_id in order_ids]
