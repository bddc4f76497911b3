"""Catalog REST routes: products."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from orderly.catalog import cached, service
from orderly.catalog.domain import InvalidProduct
from orderly.catalog.ndc import InvalidNdc
from orderly.catalog.service import ConflictingFilters, NdcTaken, ProductNotFound, SkuTaken
from orderly.kernel.batch import MAX_BATCH
from orderly.kernel.principal import Principal
from orderly.storage import Database
from orderly.web import wire
from orderly.web.auth import anyone, operator_over
from orderly.web.dependencies import database, runtime
from orderly.web.fields import NOT_BLANK, Price, QueryId, Whole
from orderly.web.refusals import refuses

Catalog = Annotated[Database, Depends(database("catalog"))]

MAX_UNITS = 1_000_000_000


async def _sees_product(request: Request, caller: Principal) -> None:
    db = (await runtime(request)).databases["catalog"]
    await service.get_product(db, request.path_params["product_id"])


# Operators only; everyone sees the catalog, so anyone else is told 403.
Keeper = Annotated[Principal, Depends(operator_over(anyone))]
ProductKeeper = Annotated[Principal, Depends(operator_over(_sees_product))]


Schedule = Literal["CII", "CIII", "CIV", "CV"]
Attribute = StrictStr | StrictInt | StrictFloat | StrictBool


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
    price: Price
    description: str = Field(default="", max_length=10_000)
    stock: Whole = Field(default=0, ge=0, le=MAX_UNITS)
    ndc: str | None = Field(
        default=None, max_length=13, description="As assigned: 4-4-2, 5-3-2, 5-4-1"
    )
    strength: str = Field(default="", max_length=100)
    dosage_form: str = Field(default="", max_length=100)
    dea_schedule: Schedule | None = None
    pack_size: str = Field(default="", max_length=200)
    manufacturer: str = Field(default="", max_length=200)
    attributes: dict[Annotated[str, Field(max_length=64)], Attribute] = Field(
        default_factory=dict, max_length=50
    )


class ProductPatch(BaseModel):
    """Any of these; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, pattern=NOT_BLANK, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: Price | None = None
    strength: str | None = Field(default=None, max_length=100)
    dosage_form: str | None = Field(default=None, max_length=100)
    dea_schedule: Schedule | None = None
    pack_size: str | None = Field(default=None, max_length=200)
    manufacturer: str | None = Field(default=None, max_length=200)
    attributes: dict[Annotated[str, Field(max_length=64)], Attribute] | None = Field(
        default=None, max_length=50
    )


class ProductOut(BaseModel):
    id: str
    sku: str
    name: str
    description: str
    price: str | None  # money is a decimal string on the wire: "12.50"
    ndc: str | None
    ndc11: str | None
    gtin: str | None
    strength: str
    dosage_form: str
    dea_schedule: str | None
    pack_size: str
    manufacturer: str
    attributes: dict[str, Any]

    @field_validator("price", mode="before")
    @classmethod
    def _money(cls, price: Decimal | str | None) -> str | None:
        return wire.money(price) if isinstance(price, Decimal) else price


router = APIRouter(prefix="/api/v1/products", tags=["catalog"])


@router.post(
    "",
    status_code=201,
    response_model=ProductOut,
    responses=refuses(SkuTaken, NdcTaken, InvalidNdc, InvalidProduct),
)
async def create_product(
    body: ProductIn, request: Request, db: Catalog, caller: Keeper
) -> dict[str, Any]:
    """Seed 002 Flow 2: inventory knows the product and its stock before this answers."""
    run = await runtime(request)
    new = service.NewProduct(**body.model_dump())
    return await service.create_product(db, new, run.stock_records, caller.token, run.list_prices)


@router.get("", response_model=list[ProductOut], responses=refuses(InvalidNdc, ConflictingFilters))
async def list_products(
    request: Request,
    q: Annotated[str, Query(max_length=200, description="NDC, GTIN, barcode or words")] = "",
    ids: Annotated[
        list[QueryId] | None,
        Query(alias="id", max_length=MAX_BATCH, description="These products (not with q)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[dict[str, Any]]:
    """Every product, those a search finds, or those named (`id`, repeated), in the order
    asked, each once; an id no product has is left out."""
    run = await runtime(request)
    db = run.databases["catalog"]
    if ids is None:
        return await service.list_products(db, limit, offset, q)
    if q.strip():
        raise ConflictingFilters("id names the products: it cannot be combined with q")
    if run.product_cache is not None:
        return (await cached.products_by_ids(db, run.product_cache, ids))[offset : offset + limit]
    return (await service.products_by_ids(db, ids))[offset : offset + limit]


@router.patch(
    "/{product_id}",
    response_model=ProductOut,
    responses=refuses(ProductNotFound, InvalidProduct),
)
async def update_product(
    product_id: str, body: ProductPatch, request: Request, db: Catalog, caller: ProductKeeper
) -> dict[str, Any]:
    # null clears the DEA schedule; for any other field it means "leave it"
    changes = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k == "dea_schedule"
    }
    run = await runtime(request)
    return await service.update_product(
        db, product_id, changes, run.list_prices, caller.token, run.product_cache
    )


@router.get("/{product_id}", response_model=ProductOut, responses=refuses(ProductNotFound))
async def get_product(product_id: str, request: Request) -> dict[str, Any]:
    run = await runtime(request)
    db = run.databases["catalog"]
    if run.product_cache is not None:
        return await cached.get_product(db, run.product_cache, product_id)
    return await service.get_product(db, product_id)
