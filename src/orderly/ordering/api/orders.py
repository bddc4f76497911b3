"""Orders: place one directly, list, read and cancel them (seed 001's sales API)."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from orderly.kernel.batch import MAX_BATCH
from orderly.ordering import buyers, commands, listing, moves, placing, queries
from orderly.ordering.api.dependencies import Checkouts, Ordering, Rules
from orderly.ordering.api.placement import (
    MAX_UNITS,
    PLACING,
    PLACING_REFUSALS,
    CsosIn,
    PaymentMethod,
    ShippingAddress,
    answer,
)
from orderly.ordering.domain import Channel, InvalidTransition, Line
from orderly.ordering.listing import STATUS_WORDS, Expansion, InvalidDateRange, OrderFilter, Sort
from orderly.ordering.queries import OrderNotFound
from orderly.web import wire
from orderly.web.auth import Caller, OperatorOnly
from orderly.web.dependencies import runtime
from orderly.web.fields import QueryId, Whole
from orderly.web.refusals import refuses

# Far past any order book, and well inside the 64-bit integers both databases take.
MAX_OFFSET = 1_000_000_000


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[OrderLineIn] = Field(min_length=1, max_length=500)
    shipping_address: ShippingAddress
    payment_method: PaymentMethod = None
    channel: Channel | None = None
    csos: CsosIn | None = None
    # operators: the user the order is placed for (its owner), in the user's name and flows
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=64)


class HistoryEntry(BaseModel):
    status: str
    at: datetime
    details: dict[str, Any]


class OrderItem(BaseModel):
    product_id: str
    quantity: int
    unit_price: str | None


def _known_word(word: str) -> str:
    if word not in STATUS_WORDS:
        raise ValueError(f"should be one of {', '.join(STATUS_WORDS)}")
    return word


# A status as the order's flow shows it (`PLACED`, `PENDING_SHIPMENT`, `pending`...).
StatusWord = Annotated[
    str, AfterValidator(_known_word), Field(json_schema_extra={"enum": list(STATUS_WORDS)})
]
_STATUS_HELP = "In the words the order's flow shows (as the order answers them)"


def _day(value: object) -> object:
    """A date alone (`2026-12-04`) stays a date: as a bound, it is that whole day."""
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else value


When = Annotated[datetime | date, BeforeValidator(_day)]
_WHEN_HELP = "ISO date (the whole day) or date-time (UTC if it names no offset); inclusive"
AccountId = Annotated[str, Field(min_length=1, max_length=36)]
_ACCOUNT_HELP = (
    "A B2B account's id: its orders only (an operator's way to one account's orders; anyone"
    " else sees its own account's at most)"
)
_EXPAND_HELP = "Each order also with its `items`, its `history`: as the order itself shows them"


class OrderSummary(BaseModel):
    order_id: str
    user_id: str  # who placed it
    account_id: str | None = None  # the B2B account it was placed for (b2b only)
    status: str
    channel: str
    total_amount: str | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    # as the order shows them, where asked for (`expand`)
    items: list[OrderItem] | None = None
    history: list[HistoryEntry] | None = None


class OrderOut(BaseModel):
    order_id: str
    # who placed it (seed 002's userId): for an account's order, the member who did
    user_id: str
    account_id: str | None = None  # the B2B account it was placed for (b2b only)
    status: str
    channel: str
    total_amount: str | None
    currency: str
    items: list[OrderItem]
    shipping_address: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]
    # B2B (seed 000): the ERP's sales order, once confirmed; why its checkout failed
    sales_order_number: str | None = None
    failure: dict[str, Any] | None = None


def in_snake_case(order: dict[str, Any]) -> dict[str, Any]:
    """An order's history notes what the messages that moved it said (an
    `inventory.insufficient`'s lines): shown in the REST's casing. A summary without its
    history is as it was."""
    if "history" not in order:
        return order
    history = [{**entry, "details": wire.snake(entry["details"])} for entry in order["history"]]
    return {**order, "history": history}


router = APIRouter(prefix="/api/v1/orders", tags=["ordering"])


@router.post(
    "",
    **{**PLACING, "responses": refuses(*PLACING_REFUSALS, OperatorOnly, buyers.CustomerNotFound)},
)
async def place_order(body: OrderIn, response: Response, ports: Checkouts) -> dict[str, Any]:
    owner, placed_by = ports.caller, None
    if body.on_behalf_of is not None and body.on_behalf_of != ports.caller.user_id:
        if not ports.caller.is_operator:
            raise OperatorOnly("only an operator places an order for another user")
        owner = await buyers.on_behalf(ports.standing, ports.caller, body.on_behalf_of)
        placed_by = ports.caller.user_id
    placed = await placing.place_order(
        ports.db,
        ports.availability,
        commands.PlaceOrder(
            lines=[Line(item.product_id, item.quantity) for item in body.items],
            shipping_address=body.shipping_address.model_dump(),
            owner=owner,
            idempotency_key=ports.idempotency_key,
            channel=body.channel,
            payment_method=body.payment_method,
            csos=None if body.csos is None else body.csos.saga_data(),
            placed_by=placed_by,
        ),
        ports.policy,
        ports.standing,
        ports.catalog,
        ports.prices,
    )
    return answer(placed, response)


@router.get(
    "",
    response_model=list[OrderSummary],
    response_model_exclude_unset=True,  # `items` and `history` only where expanded
    responses=refuses(InvalidDateRange),
)
async def list_orders(
    db: Ordering,
    caller: Caller,
    ids: Annotated[list[QueryId] | None, Query(alias="id", max_length=MAX_BATCH)] = None,
    status: Annotated[list[StatusWord] | None, Query(description=_STATUS_HELP)] = None,
    channel: Annotated[list[Channel] | None, Query()] = None,
    account: Annotated[list[AccountId] | None, Query(description=_ACCOUNT_HELP)] = None,
    created_from: Annotated[When | None, Query(description=_WHEN_HELP)] = None,
    created_to: Annotated[When | None, Query(description=_WHEN_HELP)] = None,
    sort: Sort = Sort.NEWEST,
    expand: Annotated[list[Expansion] | None, Query(description=_EXPAND_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """The caller's orders (its account's; an operator's: everyone's), filtered and
    sorted; several `id`, `status`, `channel` or `account` values match any of them."""
    wanted = OrderFilter(
        frozenset(status or ()),
        frozenset(channel or ()),
        created_from,
        created_to,
        sort,
        ids=frozenset(ids or ()),
        accounts=frozenset(account or ()),
    )
    orders = await listing.list_orders(db, caller, wanted, limit, offset, frozenset(expand or ()))
    return [in_snake_case(order) for order in orders]


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    response_model_exclude_unset=True,  # a B2B order's sales order and failure, for b2b only
    responses=refuses(OrderNotFound),
)
async def get_order(order_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    run = await runtime(request)
    order = await queries.get_order(run.databases["ordering"], caller, order_id, run.order_cache)
    return in_snake_case(order)


@router.post(
    "/{order_id}/cancel",
    response_model=OrderOut,
    response_model_exclude_unset=True,
    responses=refuses(OrderNotFound, InvalidTransition),
)
async def cancel_order(order_id: str, db: Ordering, caller: Caller, rules: Rules) -> dict[str, Any]:
    """Cancel before shipment: stock goes back, payment is voided or refunded."""
    cancelled = await moves.cancel_order(db, caller, order_id, limits=rules.hold_limits)
    return in_snake_case(cancelled)
