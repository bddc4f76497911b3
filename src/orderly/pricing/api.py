"""Pricing REST routes: the caller's own price, list and 340B prices, contracts, locks."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from orderly.kernel.errors import NotFound
from orderly.kernel.principal import Principal
from orderly.pricing import contracts, locks, prices, quoting
from orderly.pricing.contracts import ContractNotFound
from orderly.pricing.domain import ContractKind, InvalidEffectiveDate, InvalidPrice
from orderly.pricing.quoting import NoPrice
from orderly.storage import Database
from orderly.web import wire
from orderly.web.auth import Caller, Operator, anyone, operator_over, own_account
from orderly.web.dependencies import database
from orderly.web.fields import NOT_BLANK, Price, Whole
from orderly.web.refusals import refuses

Pricing = Annotated[Database, Depends(database("pricing"))]

MAX_UNITS = 1_000_000_000
# A price may be set before pricing hears of its product: the id is kept, in 36 characters.
ProductId = Annotated[str, Path(max_length=36)]


# Operators only. A product's price is anyone's to ask (`GET /api/v1/prices`), and an
# account is its members' to see: they are told 403; anyone else, 404.
PriceKeeper = Annotated[Principal, Depends(operator_over(anyone))]
AccountKeeper = Annotated[Principal, Depends(operator_over(own_account("account_id")))]


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: Price
    effective_from: date | None = None


class ContractLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=36)  # what a contract line keeps
    price: Price
    min_quantity: Whole = Field(default=1, ge=1, le=MAX_UNITS)


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)
    kind: ContractKind
    party: str = Field(
        min_length=1, pattern=NOT_BLANK, max_length=64, description="account id, segment or GPO id"
    )
    starts_on: date
    ends_on: date | None = None
    prices: list[ContractLineIn] = Field(min_length=1, max_length=10_000)


class ContractLineOut(BaseModel):
    product_id: str
    min_quantity: int
    price: str


class ContractOut(BaseModel):
    id: str
    name: str
    kind: str
    party: str
    starts_on: str
    ends_on: str | None
    prices: list[ContractLineOut]


class QuoteOut(BaseModel):
    product_id: str
    quantity: int
    price: str
    currency: str
    source: str
    contract_id: str | None
    min_quantity: int
    effective_date: str


class QuoteItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class QuotesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[QuoteItemIn] = Field(min_length=1, max_length=500)
    account: str | None = Field(default=None, max_length=64, description="operators only")


class QuoteLineOut(BaseModel):
    """A line's quote; `price` and `source` are null for a product without a price."""

    product_id: str
    quantity: int
    price: str | None
    currency: str | None
    source: str | None
    contract_id: str | None
    min_quantity: int | None
    effective_date: str | None


class QuotesOut(BaseModel):
    items: list[QuoteLineOut]


class GpoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpo: str | None = Field(max_length=64)


class LockOut(BaseModel):
    line: str
    product_id: str
    quantity: int
    price: str
    source: str
    contract_id: str | None
    effective_date: str
    status: str


_UNPRICED = dict.fromkeys(
    ("price", "currency", "source", "contract_id", "min_quantity", "effective_date")
)


router = APIRouter(tags=["pricing"])


@router.get("/api/v1/prices", response_model=QuoteOut, responses=refuses(NoPrice))
async def my_price(
    db: Pricing,
    caller: Caller,
    product: Annotated[str, Query(min_length=1, max_length=64)],
    quantity: Annotated[int, Query(ge=1, le=MAX_UNITS)] = 1,
    account: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The caller's own price and where it comes from; operators may ask for an account."""
    whose = account if caller.is_operator and account else caller.account
    return await quoting.price_for(db, whose, product, quantity)


@router.post("/api/v1/prices/quotes", response_model=QuotesOut)
async def my_prices(body: QuotesIn, db: Pricing, caller: Caller) -> dict[str, Any]:
    """The caller's own price of each line at once, as `GET /api/v1/prices` answers
    them (ordering prices orders and carts so); operators may ask for an account."""
    whose = body.account if caller.is_operator and body.account else caller.account
    asked = [(item.product_id, item.quantity) for item in body.items]
    quotes = await quoting.quotes_for(db, whose, asked)
    return {
        "items": [
            quote or {"product_id": product_id, "quantity": quantity} | _UNPRICED
            for (product_id, quantity), quote in zip(asked, quotes, strict=True)
        ]
    }


@router.put(
    "/api/v1/prices/{product_id}/wac", status_code=204, responses=refuses(InvalidEffectiveDate)
)
async def set_wac(product_id: ProductId, body: PriceIn, db: Pricing, _: PriceKeeper) -> Response:
    await prices.set_wac(db, product_id, body.price, body.effective_from)
    return Response(status_code=204)


@router.put(
    "/api/v1/prices/{product_id}/340b", status_code=204, responses=refuses(InvalidEffectiveDate)
)
async def set_340b(product_id: ProductId, body: PriceIn, db: Pricing, _: PriceKeeper) -> Response:
    await prices.set_340b(db, product_id, body.price, body.effective_from)
    return Response(status_code=204)


@router.put(
    "/api/v1/prices/accounts/{account_id}/gpo",
    status_code=204,
    responses=refuses(NotFound),
)
async def set_gpo(account_id: str, body: GpoIn, db: Pricing, _: AccountKeeper) -> Response:
    await prices.set_gpo(db, account_id, body.gpo)
    return Response(status_code=204)


@router.post(
    "/api/v1/contracts",
    status_code=201,
    response_model=ContractOut,
    responses=refuses(InvalidPrice),
)
async def create_contract(body: ContractIn, db: Pricing, _: Operator) -> dict[str, Any]:
    new = contracts.NewContract(
        name=body.name,
        kind=body.kind,
        party=body.party,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        lines=[
            contracts.ContractLine(line.product_id, line.price, line.min_quantity)
            for line in body.prices
        ],
    )
    return await contracts.create_contract(db, new)


@router.get(
    "/api/v1/contracts/{contract_id}",
    response_model=ContractOut,
    responses=refuses(ContractNotFound),
)
async def get_contract(contract_id: str, db: Pricing, _: Operator) -> dict[str, Any]:
    return await contracts.get_contract(db, contract_id)


@router.get("/api/v1/prices/locks/{order_id}", response_model=list[LockOut])
async def order_locks(order_id: str, db: Pricing, _: Operator) -> list[dict[str, Any]]:
    return [wire.snake(lock) for lock in await locks.order_locks(db, order_id)]
