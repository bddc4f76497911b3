"""Catalog commands and the read-only queries other contexts may call."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderly.catalog import domain, store
from orderly.catalog.messages import PRODUCT_CREATED, SOURCE
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx


class SkuTaken(Conflict):
    code = "sku_taken"
    title = "SKU already in use"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


@dataclass(frozen=True)
class NewProduct:
    name: str
    sku: str
    price: Decimal
    description: str
    stock: int


def product_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "price": domain.from_cents(row["price_cents"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def create_product(db: Database, new: NewProduct) -> dict[str, Any]:
    product_id = new_id()

    async def work(tx: Tx) -> dict[str, Any]:
        now = utcnow()
        cents = domain.to_cents(new.price)
        inserted = await tx.execute(
            store.INSERT_PRODUCT,
            {
                "id": product_id,
                "sku": new.sku,
                "name": new.name,
                "description": new.description,
                "price_cents": cents,
                "at": now,
            },
        )
        if not inserted:
            raise SkuTaken(f"a product with SKU {new.sku!r} already exists", sku=new.sku)
        await emit(
            tx,
            new_message(
                PRODUCT_CREATED,
                {
                    "productId": product_id,
                    "name": new.name,
                    "sku": new.sku,
                    "price": str(new.price),
                    # seed 002 creates a product with its inventory: inventory receives this
                    "initialStock": new.stock,
                },
                source=SOURCE,
                aggregate_id=product_id,
            ),
        )
        row = await tx.fetch_one(store.GET_PRODUCT, {"id": product_id})
        assert row is not None
        return product_view(row)

    return await db.transaction(work)


async def get_product(db: Database, product_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_PRODUCT, {"id": product_id}))
    if row is None:
        raise ProductNotFound(f"product {product_id} does not exist", product_ids=[product_id])
    return product_view(row)


async def list_products(db: Database, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await db.read(
        lambda tx: tx.fetch_all(store.LIST_PRODUCTS, {"limit": limit, "offset": offset})
    )
    return [product_view(row) for row in rows]
