"""Ordering REST routes: the sales API of seed 001."""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from orderly.entrypoints import wire
from orderly.entrypoints.auth import Caller, Operator, operator_over, principal
from orderly.entrypoints.dependencies import database, runtime
from orderly.entrypoints.fields import NOT_BLANK, Whole
from orderly.entrypoints.openapi import refuses
from orderly.kernel.errors import Conflict, OrderlyError
from orderly.kernel.principal import Principal
from orderly.ordering import carts, listing, moves, placing, queries
from orderly.ordering.availability import ProductAvailability, UnknownProduct
from orderly.ordering.buyers import AccountStanding, NotABuyer
from orderly.ordering.carts import CartCheckedOut, CartEmpty, CartItemNotFound, NotInStock
from orderly.ordering.controlled import ControlledSubstanceNotAllowed
from orderly.ordering.domain import (
    Channel,
    DuplicateProduct,
    InsufficientStock,
    InvalidTransition,
    Line,
)
from orderly.ordering.idempotency import IdempotencyKeyInUse, IdempotencyKeyReused
from orderly.ordering.listing import STATUS_WORDS, InvalidDateRange, OrderFilter, Sort
from orderly.ordering.placing import ChannelNotAllowed, PaymentMethodRequired, ProductNotPriced
from orderly.ordering.policy import OrderingPolicy, policy
from orderly.ordering.prices import PriceBook
from orderly.ordering.products import ProductSource, asking_catalog
from orderly.ordering.queries import OrderNotFound
from orderly.sagas import engine
from orderly.sagas.engine import SagaNotFound, SagaState
from orderly.storage import Database

Ordering = Annotated[Database, Depends(database("ordering"))]

MAX_UNITS = 1_000_000
# Far past any order book, and well inside the 64-bit integers both databases take.
MAX_OFFSET = 1_000_000_000


async def availability_port(request: Request) -> ProductAvailability:
    port = (await runtime(request)).availability
    assert port is not None, "ordering's routes are served beside its ports"
    return port


async def price_port(request: Request) -> PriceBook:
    port = (await runtime(request)).prices
    assert port is not None, "ordering's routes are served beside its ports"
    return port


Prices = Annotated[PriceBook, Depends(price_port)]


async def ordering_policy(request: Request) -> OrderingPolicy:
    return policy((await runtime(request)).settings)


Rules = Annotated[OrderingPolicy, Depends(ordering_policy)]


# Kept behind its scope (`account:<id>:`, up to 45 characters) in a 255-character column.
MAX_IDEMPOTENCY_KEY = 200
# The header the checkout routes read themselves, documented here for the OpenAPI document.
IDEMPOTENCY_KEY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "The same key and body answer what the first request did; kept 24 h.",
            "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
        }
    ]
}


@dataclass(frozen=True)
class Checkout:
    """What placing an order needs, resolved as one dependency. FastAPI solves every node
    of a route's dependency tree (and reads every declared header) on each request; the
    checkout routes are the busiest, and a node each for the database, the caller, both
    ports and the header cost them more than the order's own work."""

    db: Database
    caller: Principal
    availability: ProductAvailability
    standing: AccountStanding | None
    idempotency_key: str | None
    catalog: ProductSource | None
    prices: PriceBook | None
    policy: OrderingPolicy


async def checkout(request: Request) -> Checkout:
    caller = await principal(request)
    run = await runtime(request)
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "idempotency-key"),
                    "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY} characters",
                    "type": "string_too_long",
                }
            ]
        )
    assert run.availability is not None, "ordering's routes are served beside its ports"
    return Checkout(
        run.databases["ordering"],
        caller,
        run.availability,
        run.standing,
        key,
        run.products,
        run.prices,
        policy(run.settings),
    )


Checkouts = Annotated[Checkout, Depends(checkout)]


# A gateway token (tok_…) or a saved payment method's id (pm_…); never a card number.
PaymentMethod = Annotated[
    str | None, Field(max_length=80, pattern=r"^(tok_[A-Za-z0-9_]{1,60}|pm_[0-9a-f-]{36})$")
]


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class ShippingAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="", max_length=200)
    line1: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, pattern=NOT_BLANK, max_length=100)
    state: str = Field(default="", max_length=100)
    postal_code: str = Field(min_length=1, pattern=NOT_BLANK, max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[OrderLineIn] = Field(min_length=1, max_length=500)
    shipping_address: ShippingAddress
    payment_method: PaymentMethod = None
    channel: Channel | None = None


class OrderCreated(BaseModel):
    """Seed 001's {order_id, status}; other flows add the channel and the total."""

    order_id: str
    status: str
    channel: str | None = None
    total_amount: str | None = None
    currency: str | None = None


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


class OrderSummary(BaseModel):
    order_id: str
    status: str
    channel: str
    total_amount: str | None
    currency: str | None
    created_at: datetime
    updated_at: datetime


class OrderOut(BaseModel):
    order_id: str
    status: str
    channel: str
    total_amount: str | None
    currency: str
    items: list[OrderItem]
    shipping_address: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]


class CartItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class CartQuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Whole = Field(ge=0, le=MAX_UNITS)


class CartLineOut(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    quantity: int
    unit_price: str | None
    line_total: str | None
    # units inventory holds for this line now: up to the caller's hold limit, while it lasts
    held: int
    available: int
    # units inventory holds for this line once it has heard of it: the line, up to the
    # caller's hold limit and to what it can have (`available` + `held`)
    hold: int


class CartOut(BaseModel):
    cart_id: str | None
    items: list[CartLineOut]
    total: str | None
    currency: str


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: ShippingAddress
    payment_method: PaymentMethod = None
    channel: Channel | None = None


class PaymentFailed(OrderlyError):
    """Seed 003's "Order Failed (Payment Issue)": the order exists, `PAYMENT_FAILED`, its
    stock given back."""

    status = 402
    code = "payment_failed"
    title = "The payment failed"


class OrderCancelled(Conflict):
    """The order exists but ended `CANCELLED` before any payment was taken: its stock was
    short when the reservation was made, though the check had passed."""

    code = "order_cancelled"
    title = "The order was cancelled before it was placed"


_PLACING_REFUSALS = (
    InsufficientStock,
    ControlledSubstanceNotAllowed,
    ChannelNotAllowed,
    NotABuyer,
    UnknownProduct,
    DuplicateProduct,
    ProductNotPriced,
    PaymentMethodRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    PaymentFailed,
    OrderCancelled,
)

# How both routes that place an order answer: 201 and seed 001's {order_id, status} (more for
# the other flows), with the Idempotency-Key their `Checkout` reads.
PLACING: dict[str, Any] = {
    "status_code": 201,
    "response_model": OrderCreated,
    "response_model_exclude_none": True,
    "openapi_extra": IDEMPOTENCY_KEY_HEADER,
    "responses": refuses(*_PLACING_REFUSALS),
}
CHECKOUT_REFUSALS = refuses(*_PLACING_REFUSALS, CartEmpty, CartCheckedOut)


def _answer(placed: placing.Placed, response: Response) -> dict[str, Any]:
    """201 for a new order; 202 while a guarded checkout's outcome is not known yet; an
    order that ended failed, a problem (402 or 409) that names it. A replayed
    Idempotency-Key answers the same, with 200 for a success and `Idempotent-Replayed`."""
    failed = _failure(placed.response)
    if failed is not None:
        headers = {"Location": f"/api/v1/orders/{placed.response['order_id']}"}
        if placed.replayed:
            headers["Idempotent-Replayed"] = "true"
        raise failed.with_headers(headers)
    if placed.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    elif placed.accepted_only:
        response.status_code = 202
    return placed.response


def _failure(order: dict[str, Any]) -> OrderlyError | None:
    # the problem's `status` is the HTTP status: the order's is `order_status`
    status = str(order["status"]).upper()
    named = {k: v for k, v in order.items() if k != "status"} | {"order_status": order["status"]}
    if status == "PAYMENT_FAILED":
        return PaymentFailed(
            f"order {order['order_id']} was not placed: its payment failed", **named
        )
    if status == "CANCELLED":
        return OrderCancelled(
            f"order {order['order_id']} was cancelled: its stock could not be reserved",
            **named,
        )
    return None


class SagaStepOut(BaseModel):
    name: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    deadline_at: datetime | None
    detail: dict[str, Any]


class SagaOut(BaseModel):
    saga_id: str
    kind: str
    state: str
    reason: str | None
    data: dict[str, Any]
    steps: list[SagaStepOut]


class SagaSummary(BaseModel):
    id: str
    kind: str
    state: str
    step: int
    reason: str | None
    created_at: datetime
    updated_at: datetime


async def _sees_saga(request: Request, caller: Principal) -> None:
    """A checkout saga is its order's (the same id): seen by whoever sees the order."""
    db = (await runtime(request)).databases["ordering"]
    saga_id = request.path_params["saga_id"]
    await engine.get(db, saga_id)
    try:
        await queries.get_order(db, caller, saga_id)
    except OrderNotFound:
        raise SagaNotFound(f"saga {saga_id} does not exist") from None


# Operators only: a customer is told 403 for its own order's saga, 404 for anyone else's.
SagaKeeper = Annotated[Principal, Depends(operator_over(_sees_saga))]


def router() -> APIRouter:
    root = APIRouter()
    root.include_router(_orders())
    root.include_router(_cart())
    root.include_router(_sagas())
    return root


def _sagas() -> APIRouter:
    api = APIRouter(prefix="/api/v1/sagas", tags=["ordering"])

    @api.get("", response_model=list[SagaSummary])
    async def list_sagas(
        db: Ordering,
        operator: Operator,
        state: SagaState | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[Any]:
        """Operators: sagas, newest first, optionally in one state."""
        return await engine.find(db, state or "", limit)

    @api.get("/{saga_id}", response_model=SagaOut, responses=refuses(SagaNotFound))
    async def get_saga(saga_id: str, db: Ordering, operator: SagaKeeper) -> dict[str, Any]:
        """Operators: one saga with each step, its attempts and timings."""
        return await engine.get(db, saga_id)

    return api


def _checks(ports: Checkout) -> carts.Checks:
    return carts.Checks(ports.availability, ports.standing)


async def _view(ports: Checkout) -> dict[str, Any]:
    assert ports.prices is not None, "ordering's routes are served beside its ports"
    limits = ports.policy.hold_limits
    return await carts.view(ports.db, ports.caller, ports.availability, ports.prices, limits)


def _cart() -> APIRouter:
    api = APIRouter(prefix="/api/v1/cart", tags=["ordering"])

    @api.get("", response_model=CartOut)
    async def view_cart(
        db: Ordering,
        caller: Caller,
        availability: Annotated[ProductAvailability, Depends(availability_port)],
        prices: Prices,
        rules: Rules,
    ) -> dict[str, Any]:
        """The caller's cart with current prices and what is available of each line."""
        return await carts.view(db, caller, availability, prices, rules.hold_limits)

    @api.post(
        "/items",
        response_model=CartOut,
        status_code=201,
        responses=refuses(UnknownProduct, NotInStock, ControlledSubstanceNotAllowed),
    )
    async def add_to_cart(body: CartItemIn, ports: Checkouts) -> dict[str, Any]:
        """Seed 000: add to the cart (`cart.item.added`); inventory holds the units a while.
        More than the caller can have, or a controlled substance it may not buy, is refused."""
        await asking_catalog(
            ports.db,
            ports.catalog,
            [body.product_id],
            ports.caller.token,
            lambda: carts.add_item(
                ports.db,
                ports.caller,
                body.product_id,
                body.quantity,
                _checks(ports),
                ports.policy.hold_limits,
            ),
        )
        return await _view(ports)

    @api.put(
        "/items/{product_id}",
        response_model=CartOut,
        responses=refuses(
            CartItemNotFound, UnknownProduct, NotInStock, ControlledSubstanceNotAllowed
        ),
    )
    async def change_quantity(
        product_id: str, body: CartQuantityIn, ports: Checkouts
    ) -> dict[str, Any]:
        await asking_catalog(
            ports.db,
            ports.catalog,
            [product_id],
            ports.caller.token,
            lambda: carts.set_quantity(
                ports.db,
                ports.caller,
                product_id,
                body.quantity,
                _checks(ports),
                ports.policy.hold_limits,
            ),
        )
        return await _view(ports)

    @api.delete(
        "/items/{product_id}",
        response_model=CartOut,
        responses=refuses(CartItemNotFound, UnknownProduct),
    )
    async def remove_from_cart(
        product_id: str,
        db: Ordering,
        caller: Caller,
        availability: Annotated[ProductAvailability, Depends(availability_port)],
        prices: Prices,
        rules: Rules,
    ) -> dict[str, Any]:
        limits = rules.hold_limits
        await carts.set_quantity(db, caller, product_id, 0, None, limits)
        return await carts.view(db, caller, availability, prices, limits)

    @api.post("/checkout", **{**PLACING, "responses": CHECKOUT_REFUSALS})
    async def check_out(body: CheckoutIn, response: Response, ports: Checkouts) -> dict[str, Any]:
        """The cart becomes an order through the caller's checkout flow; its holds become
        the order's reservation."""
        cmd = placing.PlaceOrder(
            lines=[],
            shipping_address=body.shipping_address.model_dump(),
            owner=ports.caller,
            idempotency_key=ports.idempotency_key,
            channel=body.channel,
            payment_method=body.payment_method,
            from_cart=True,
        )
        placed = await placing.earlier_checkout(ports.db, cmd, ports.policy)
        if placed is None:
            cart_id, lines = await carts.lines(ports.db, ports.caller)
            cmd = replace(cmd, lines=lines, cart_id=cart_id)
            placed = await placing.place_order(
                ports.db,
                ports.availability,
                cmd,
                ports.policy,
                ports.standing,
                ports.catalog,
                ports.prices,
            )
        return _answer(placed, response)

    return api


def _in_snake_case(order: dict[str, Any]) -> dict[str, Any]:
    """An order's history notes what the messages that moved it said (an
    `inventory.insufficient`'s lines): shown in the REST's casing."""
    history = [{**entry, "details": wire.snake(entry["details"])} for entry in order["history"]]
    return {**order, "history": history}


def _orders() -> APIRouter:
    api = APIRouter(prefix="/api/v1/orders", tags=["ordering"])

    @api.post("", **PLACING)
    async def place_order(body: OrderIn, response: Response, ports: Checkouts) -> dict[str, Any]:
        placed = await placing.place_order(
            ports.db,
            ports.availability,
            placing.PlaceOrder(
                lines=[Line(item.product_id, item.quantity) for item in body.items],
                shipping_address=body.shipping_address.model_dump(),
                owner=ports.caller,
                idempotency_key=ports.idempotency_key,
                channel=body.channel,
                payment_method=body.payment_method,
            ),
            ports.policy,
            ports.standing,
            ports.catalog,
            ports.prices,
        )
        return _answer(placed, response)

    @api.get("", response_model=list[OrderSummary], responses=refuses(InvalidDateRange))
    async def list_orders(
        db: Ordering,
        caller: Caller,
        status: Annotated[list[StatusWord] | None, Query(description=_STATUS_HELP)] = None,
        channel: Annotated[list[Channel] | None, Query()] = None,
        created_from: Annotated[When | None, Query(description=_WHEN_HELP)] = None,
        created_to: Annotated[When | None, Query(description=_WHEN_HELP)] = None,
        sort: Sort = Sort.NEWEST,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        """The caller's orders (its account's; an operator's: everyone's), filtered and
        sorted; several `status` or `channel` values match any of them."""
        wanted = OrderFilter(
            frozenset(status or ()), frozenset(channel or ()), created_from, created_to, sort
        )
        return await listing.list_orders(db, caller, wanted, limit, offset)

    @api.get("/{order_id}", response_model=OrderOut, responses=refuses(OrderNotFound))
    async def get_order(order_id: str, db: Ordering, caller: Caller) -> dict[str, Any]:
        return _in_snake_case(await queries.get_order(db, caller, order_id))

    @api.post(
        "/{order_id}/cancel",
        response_model=OrderOut,
        responses=refuses(OrderNotFound, InvalidTransition),
    )
    async def cancel_order(
        order_id: str, db: Ordering, caller: Caller, rules: Rules
    ) -> dict[str, Any]:
        """Cancel before shipment: stock goes back, payment is voided or refunded."""
        cancelled = await moves.cancel_order(db, caller, order_id, limits=rules.hold_limits)
        return _in_snake_case(cancelled)

    return api
