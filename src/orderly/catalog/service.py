"""Catalog commands and the read-only queries other contexts may call."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from orderly.catalog import domain, ndc, store
from orderly.catalog.listprices import ListPrices
from orderly.catalog.messages import SOURCE, ProductCreated, ProductUpdated
from orderly.catalog.stock import StockRecords
from orderly.kernel.batch import distinct, in_order_asked
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound, Unprocessable
from orderly.kernel.ids import new_id
from orderly.kernel.money import to_cents
from orderly.messaging import Envelope, emit, new_message
from orderly.pricing.messages import PriceWacChanged
from orderly.storage import Database, Row, Tx
from orderly.storage.cache import Shelf


class SkuTaken(Conflict):
    code = "sku_taken"
    title = "SKU already in use"


class NdcTaken(Conflict):
    code = "ndc_taken"
    title = "NDC already in the catalog"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class ConflictingFilters(Unprocessable):
    code = "conflicting_filters"
    title = "These filters cannot be combined"


@dataclass(frozen=True)
class NewProduct:
    name: str
    sku: str
    price: Decimal | None  # None: not priced (pricing has no WAC for it yet)
    description: str
    stock: int
    ndc: str | None = None
    strength: str = ""
    dosage_form: str = ""
    dea_schedule: str | None = None
    pack_size: str = ""
    manufacturer: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


# What an operator may change after creation; the SKU and the NDC are the product's identity.
EDITABLE = (
    "name",
    "description",
    "price",
    "strength",
    "dosage_form",
    "dea_schedule",
    "pack_size",
    "manufacturer",
    "attributes",
)


def product_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "price": None if row["price_cents"] is None else domain.from_cents(row["price_cents"]),
        "ndc": row["ndc"],
        "ndc11": row["ndc11"],
        "gtin": row["gtin"],
        "strength": row["strength"],
        "dosage_form": row["dosage_form"],
        "dea_schedule": row["dea_schedule"],
        "pack_size": row["pack_size"],
        "manufacturer": row["manufacturer"],
        "attributes": row["attributes"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def terms(product: NewProduct) -> set[str]:
    """The words search finds a product by."""
    text = " ".join((product.name, product.manufacturer, product.dosage_form, product.sku))
    return {word[:64] for word in re.findall(r"[a-z0-9]+", text.lower())}


def row_of(product_id: str, product: NewProduct, now: Any) -> dict[str, Any]:
    identifier = ndc.parse(product.ndc) if product.ndc else None
    return {
        "id": product_id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price_cents": None if product.price is None else domain.to_cents(product.price),
        "ndc": identifier.assigned if identifier else None,
        "ndc11": identifier.ndc11 if identifier else None,
        "ndc_digits": identifier.digits if identifier else None,
        "gtin": identifier.gtin if identifier else None,
        "strength": product.strength,
        "dosage_form": product.dosage_form,
        "dea_schedule": product.dea_schedule,
        "pack_size": product.pack_size,
        "manufacturer": product.manufacturer,
        "attributes": product.attributes,
        "at": now,
    }


def term_rows(product_id: str, product: NewProduct) -> list[dict[str, str]]:
    name = product.name.lower()[:200]
    return [{"term": t, "name": name, "product_id": product_id} for t in sorted(terms(product))]


async def _index(tx: Tx, product_id: str, product: NewProduct) -> None:
    await tx.execute(store.DELETE_TERMS, {"product_id": product_id})
    await tx.execute_many(store.INSERT_TERM, term_rows(product_id, product))


async def create_product(
    db: Database,
    new: NewProduct,
    stock: StockRecords | None = None,
    token: str = "",
    prices: ListPrices | None = None,
) -> dict[str, Any]:
    """Seed 002 Flow 2: the product, `product.created`, and (through `stock`) its inventory
    record with its initial stock, and (through `prices`) its WAC, all before the answer."""
    created = await _create_product(db, new)
    if stock is not None:
        await stock.open(created["id"], new.sku, new.stock or 0, token=token)
    if prices is not None and new.price is not None:
        await prices.set(created["id"], new.price, token=token)
    return created


async def _create_product(db: Database, new: NewProduct) -> dict[str, Any]:
    product_id = new_id()
    domain.check_schedule(new.dea_schedule)
    row = row_of(product_id, new, utcnow())

    async def work(tx: Tx) -> dict[str, Any]:
        if not await tx.execute(store.INSERT_PRODUCT, row):
            if await tx.fetch_one(store.BY_SKU, {"sku": new.sku}) is not None:
                raise SkuTaken(f"a product with SKU {new.sku!r} already exists", sku=new.sku)
            raise NdcTaken(f"NDC {row['ndc']} is already in the catalog", ndc=row["ndc"])
        await _index(tx, product_id, new)
        created_message = ProductCreated(
            product_id=product_id,
            name=new.name,
            sku=new.sku,
            price=new.price,
            ndc=row["ndc"],
            ndc11=row["ndc11"],
            dea_schedule=new.dea_schedule,
            gtin=row["gtin"],
            # seed 002 creates a product with its inventory: inventory receives this
            initial_stock=new.stock,
        )
        await emit(tx, new_message(created_message, source=SOURCE, aggregate_id=product_id))
        created = await tx.fetch_one(store.GET_PRODUCT, {"id": product_id})
        assert created is not None
        return product_view(created)

    return await db.transaction(work)


async def update_product(
    db: Database,
    product_id: str,
    changes: dict[str, Any],
    prices: ListPrices | None = None,
    token: str = "",
    cache: Shelf | None = None,
) -> dict[str, Any]:
    """Change what may change; publish `product.updated` with the fields that did. A new
    price is the product's WAC from today, which pricing knows (through `prices`) before
    the answer. The product's cached entry is dropped once the change is committed, before
    the answer: whoever changed it reads it changed."""
    updated = await _update_product(db, product_id, changes)
    if cache is not None:
        await cache.drop(product_id)
    if prices is not None and "price" in changes and updated["price"] is not None:
        await prices.set(product_id, Decimal(updated["price"]), token=token)
    return updated


async def _update_product(db: Database, product_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE)
    assert not unknown, unknown
    if "dea_schedule" in changes:
        domain.check_schedule(changes["dea_schedule"])

    async def work(tx: Tx) -> dict[str, Any]:
        row = await tx.fetch_one(store.GET_PRODUCT, {"id": product_id})
        if row is None:
            raise ProductNotFound(f"product {product_id} does not exist", product_ids=[product_id])
        current = product_view(row)
        changed = {k: v for k, v in changes.items() if current[k] != v}
        if not changed:
            return current
        merged = {**current, **changed}
        updated = NewProduct(
            name=merged["name"],
            sku=merged["sku"],
            price=None if merged["price"] is None else Decimal(merged["price"]),
            description=merged["description"],
            stock=0,
            strength=merged["strength"],
            dosage_form=merged["dosage_form"],
            dea_schedule=merged["dea_schedule"],
            pack_size=merged["pack_size"],
            manufacturer=merged["manufacturer"],
            attributes=merged["attributes"],
        )
        params = row_of(product_id, replace(updated, ndc=None), utcnow())
        await tx.execute(store.UPDATE_PRODUCT, params)
        await _index(tx, product_id, updated)
        news = ProductUpdated(product_id=product_id, **changed)
        await emit(tx, new_message(news, source=SOURCE, aggregate_id=product_id))
        fresh = await tx.fetch_one(store.GET_PRODUCT, {"id": product_id})
        assert fresh is not None
        return product_view(fresh)

    return await db.transaction(work)


async def price_on_wac_changed(tx: Tx, message: Envelope) -> None:
    """A product's price is its WAC in force, which pricing keeps: an operator's change, or
    one set ahead reaching its day, shows here. Catalog does not announce it again."""
    wac = message.read(PriceWacChanged)
    params = {"id": wac.product_id, "price_cents": to_cents(wac.price), "at": utcnow()}
    await tx.execute(store.SET_PRICE, params)


async def get_product(db: Database, product_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_PRODUCT, {"id": product_id}))
    if row is None:
        raise ProductNotFound(f"product {product_id} does not exist", product_ids=[product_id])
    return product_view(row)


async def products_by_ids(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The products of `ids` as `get_product` shows each, in the order asked, each once;
    an id no product has is left out."""
    wanted = distinct(ids)
    rows = await db.read(lambda tx: tx.fetch_all(store.PRODUCTS, {"ids": wanted}))
    return [product_view(row) for row in in_order_asked(wanted, rows, lambda row: row["id"])]


async def list_products(
    db: Database, limit: int, offset: int, query: str = ""
) -> list[dict[str, Any]]:
    """All products, or those a search finds: by NDC in any form, GTIN or scanned barcode;
    otherwise by words, each the start of a word of the name, manufacturer, form or SKU."""
    query = query.strip()
    if not query:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        rows = await db.read(lambda tx: tx.fetch_all(store.LIST_PRODUCTS, params))
        return [product_view(row) for row in rows]
    keys = ndc.search_keys(query)
    if keys is not None:
        stmt = store.SEARCH_NDC11 if keys.ndc11 else store.SEARCH_DIGITS
        key = next(iter(keys.ndc11 or keys.digits))
        rows = await db.read(lambda tx: tx.fetch_all(stmt, {"key": key}))
        return [product_view(row) for row in rows[offset : offset + limit]]
    words = sorted(set(re.findall(r"[a-z0-9]+", query.lower())), key=len, reverse=True)
    words = [w[:64] for w in words[: store.MAX_WORDS]]
    if not words:
        return []
    stmt = store.SEARCH_WORDS[len(words)]

    async def work(tx: Tx) -> list[Row]:
        ordered = words
        if len(words) > 1:  # the rarest word drives; the others are checked per product
            counts = {}
            for word in words:
                row = await tx.fetch_one(store.PREFIX_COUNT, {"lo": word, "hi": word + "{"})
                counts[word] = int(row["n"]) if row else 0
            ordered = sorted(words, key=lambda word: (counts[word], -len(word)))
        bounds = {f"lo{n}": w for n, w in enumerate(ordered)} | {
            f"hi{n}": w + "{" for n, w in enumerate(ordered)
        }
        return await tx.fetch_all(stmt, {**bounds, "limit": limit, "offset": offset})

    rows = await db.read(work)
    found: dict[str, Row] = {}  # a product with two words that start alike comes once
    for row in rows:
        found.setdefault(row["id"], row)
    return [product_view(row) for row in found.values()]
