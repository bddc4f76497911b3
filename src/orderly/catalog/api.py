"""Catalog REST routes: products."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from orderly.catalog import service
from orderly.entrypoints.auth import Operator
from orderly.entrypoints.dependencies import database
from orderly.storage import Database

Catalog = Annotated[Database, Depends(database("catalog"))]

MAX_UNITS = 1_000_000_000


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
    price: Decimal = Field(ge=0, le=Decimal("1000000000"), decimal_places=2)
    description: str = Field(default="", max_length=10_000)
    stock: int = Field(default=0, ge=0, le=MAX_UNITS, strict=True)


class ProductOut(BaseModel):
    id: str
    sku: str
    name: str
    description: str
    price: float


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1/products", tags=["catalog"])

    @api.post("", status_code=201, response_model=ProductOut)
    async def create_product(body: ProductIn, db: Catalog, _: Operator) -> dict[str, Any]:
        return await service.create_product(db, service.NewProduct(**body.model_dump()))

    @api.get("", response_model=list[ProductOut])
    async def list_products(
        db: Catalog,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        return await service.list_products(db, limit, offset)

    @api.get("/{product_id}", response_model=ProductOut)
    async def get_product(product_id: str, db: Catalog) -> dict[str, Any]:
        return await service.get_product(db, product_id)

    return api
