"""Catalog's products through the read cache, on a real SQLite database and both caches: an
entry is what the database answers, and a change, committed or still being committed when it
is heard of, never leaves the older product in the cache."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from orderly.catalog import cached, service
from orderly.catalog.context import CONTEXT
from orderly.pricing.messages import PriceWacChanged
from orderly.storage import Database
from orderly.storage.cache import Shelf
from orderly.storage.database import Work
from tests.bus import Bus, context_database
from tests.contract.test_cache import KINDS, make
from tests.messages import told

T = TypeVar("T")


@pytest.fixture(params=KINDS)
async def shelf(request: pytest.FixtureRequest) -> AsyncIterator[Shelf]:
    cache = make(request.param)
    try:
        yield Shelf(cache, "products")
    finally:
        await cache.close()


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Database]:
    db = await context_database(tmp_path, "catalog")
    try:
        yield db
    finally:
        await db.close()


async def a_product(db: Database) -> dict[str, Any]:
    new = service.NewProduct(
        name="Atorvastatin 10mg", sku="ATV-10", price=Decimal("49.99"), description="", stock=0
    )
    return await service.create_product(db, new)


def wac_changed(product_id: str, price: str) -> Any:
    from datetime import date

    body = PriceWacChanged(product_id=product_id, price=Decimal(price), effective_date=date.today())
    return told(body, product_id, source="pricing")


class HeldReads:
    """The catalog's database, whose next read is held, once done, until `go_on` is set:
    a reader that read before a change and fills after it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.done, self.go_on = asyncio.Event(), asyncio.Event()

    async def read(self, work: Work[T]) -> T:
        found = await self.db.read(work)
        self.done.set()
        await self.go_on.wait()
        return found


async def test_a_cached_product_is_the_product_as_the_database_answers_it(
    catalog: Database, shelf: Shelf
) -> None:
    product = await a_product(catalog)
    first = await cached.get_product(catalog, shelf, product["id"])
    again = await cached.get_product(catalog, shelf, product["id"])  # from the cache
    assert first == again == await service.get_product(catalog, product["id"])
    assert await cached.products_by_ids(catalog, shelf, [product["id"], "nope", product["id"]]) == [
        first
    ]
    assert (await shelf.get(product["id"]))[0] is not None


async def test_an_update_drops_the_entry_once_committed(catalog: Database, shelf: Shelf) -> None:
    product = await a_product(catalog)
    await cached.get_product(catalog, shelf, product["id"])
    await service.update_product(catalog, product["id"], {"name": "Renamed"}, cache=shelf)
    assert (await cached.get_product(catalog, shelf, product["id"]))["name"] == "Renamed"


async def test_a_reader_that_read_before_an_update_does_not_fill_after_it(
    catalog: Database, shelf: Shelf
) -> None:
    # given a reader that missed, read the product, and is held before it fills
    product = await a_product(catalog)
    held = HeldReads(catalog)
    reader = asyncio.create_task(cached.get_product(held, shelf, product["id"]))  # type: ignore[arg-type]
    await held.done.wait()

    # when the product is renamed (committed, its entry dropped), and only then it fills
    await service.update_product(catalog, product["id"], {"name": "Renamed"}, cache=shelf)
    held.go_on.set()

    # then that reader answers what it read, but the next reader reads the new name
    assert (await reader)["name"] == product["name"]
    assert (await cached.get_product(catalog, shelf, product["id"]))["name"] == "Renamed"


async def test_a_wac_heard_before_catalog_applied_it_keeps_the_older_product_out(
    catalog: Database, shelf: Shelf
) -> None:
    # given a cached product, and pricing's news of its new WAC, heard before catalog's
    # consumer has committed it
    product = await a_product(catalog)
    await cached.get_product(catalog, shelf, product["id"])
    news = wac_changed(product["id"], "12.50")
    await cached.forget_on_wac_changed(catalog, shelf, news)

    # when a reader reads the product meanwhile: the old price, which is not kept
    assert (await cached.get_product(catalog, shelf, product["id"]))["price"] == Decimal("49.99")
    assert (await shelf.get(product["id"]))[0] is None

    # then once catalog's consumer commits it, the product reads at its new price
    assert await Bus(CONTEXT, catalog).deliver(news) == 1
    assert (await cached.get_product(catalog, shelf, product["id"]))["price"] == Decimal("12.50")
    assert Decimal((await shelf.get(product["id"]))[0]["price"]) == Decimal("12.50")


async def test_a_wac_heard_after_catalog_applied_it_lets_the_product_be_cached(
    catalog: Database, shelf: Shelf
) -> None:
    product = await a_product(catalog)
    await cached.get_product(catalog, shelf, product["id"])
    news = wac_changed(product["id"], "12.50")
    assert await Bus(CONTEXT, catalog).deliver(news) == 1
    await cached.forget_on_wac_changed(catalog, shelf, news)
    assert (await cached.get_product(catalog, shelf, product["id"]))["price"] == Decimal("12.50")
    assert Decimal((await shelf.get(product["id"]))[0]["price"]) == Decimal("12.50")
