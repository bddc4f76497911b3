"""The web BFF's GraphQL schema: product discovery (seed 000 section 1), the cart, placing an
order, orders with their lines, history, payments and shipments, the caller and its account.

A product's catalog data, the caller's own price and its stock are asked of catalog,
pricing and inventory at once; the lists' products, prices, stock, payments and shipments
go through the request's DataLoaders, one call per context for a whole list."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import strawberry
from strawberry.fastapi import BaseContext
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from orderly.bff.graphql_limits import MAX_PAGE
from orderly.bff.loaders import Loaders, loaders
from orderly.bff.port import Contexts, Forwarded, Json, Refused
from orderly.catalog.ndc import InvalidNdc
from orderly.catalog.ndc import search_keys as ndc_keys
from orderly.kernel.errors import Unauthorized, Unprocessable
from orderly.kernel.principal import Principal
from orderly.ordering.api.placement import MAX_UNITS

# What a list without a `limit` is costed at when a query is weighed (graphql_limits): its
# default page, or what it holds in practice (an order's lines, its payments).
LIST_SIZES = (
    ("orders", 20),
    ("products", 20),
    ("items", 5),
    ("history", 5),
    ("payments", 2),
    ("shipments", 2),
    ("dcs", 3),
)

# A product's NDC (in whatever form it was asked) is never changed: what it names is kept.
_NDC_IDS: dict[str, str] = {}
_NDC_IDS_KEPT = 10_000


class GraphContext(BaseContext):
    """A request's caller, the contexts' port and the request's loaders. Over a WebSocket
    the caller is known once the connection's first message has named it."""

    def __init__(self, caller: Principal | None, contexts: Contexts) -> None:
        super().__init__()
        self.contexts = contexts
        self._caller: Principal | None = None
        self._loaders: Loaders | None = None
        if caller is not None:
            self.sign_in(caller)

    def sign_in(self, caller: Principal) -> None:
        self._caller = caller
        self._loaders = loaders(self.contexts, caller)

    def read_anew(self) -> None:
        """New loaders: a subscription's next event reads the contexts again, not what the
        loaders kept from the last one (an order's shipments and payments move with it)."""
        self._loaders = loaders(self.contexts, self.caller)

    @property
    def caller(self) -> Principal:
        if self._caller is None:
            raise Unauthorized("this route needs a bearer token")
        return self._caller

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            raise Unauthorized("this route needs a bearer token")
        return self._loaders


Ctx = Info[GraphContext, None]


class PageTooLarge(Unprocessable):
    code = "page_too_large"


class ProductNotNamed(Unprocessable):
    code = "product_not_named"


class InvalidQuantity(Unprocessable):
    code = "invalid_quantity"


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise PageTooLarge(f"limit must be 1 to {MAX_PAGE}, offset at least 0")


@strawberry.type
class Price:
    amount: str
    currency: str
    source: str = strawberry.field(description="340b, contract or wac")
    contract_id: str | None
    min_quantity: int | None
    effective_date: str

    @classmethod
    def of(cls, quote: Json) -> "Price":
        return cls(
            amount=quote["price"],
            currency=quote.get("currency") or "USD",
            source=quote["source"],
            contract_id=quote.get("contract_id"),
            min_quantity=quote.get("min_quantity"),
            effective_date=quote["effective_date"],
        )


@strawberry.type
class DcStock:
    dc: str
    atp: int
    on_hand: int


@strawberry.type
class Availability:
    atp: int
    on_hand: int
    dcs: list[DcStock]

    @classmethod
    def of(cls, position: Json) -> "Availability":
        dcs = [DcStock(dc=d["dc"], atp=d["atp"], on_hand=d["on_hand"]) for d in position["dcs"]]
        return cls(atp=position["atp"], on_hand=position["on_hand"], dcs=dcs)


@strawberry.type
class Product:
    id: strawberry.ID
    sku: str
    name: str
    description: str
    list_price: str | None = strawberry.field(description="the catalog's price (WAC)")
    ndc: str | None
    ndc11: str | None
    gtin: str | None
    strength: str | None
    dosage_form: str | None
    dea_schedule: str | None
    manufacturer: str | None

    @classmethod
    def of(cls, data: Json) -> "Product":
        return cls(
            id=strawberry.ID(data["id"]),
            sku=data["sku"],
            name=data["name"],
            description=data.get("description") or "",
            list_price=data.get("price"),
            ndc=data.get("ndc"),
            ndc11=data.get("ndc11"),
            gtin=data.get("gtin"),
            strength=data.get("strength"),
            dosage_form=data.get("dosage_form"),
            dea_schedule=data.get("dea_schedule"),
            manufacturer=data.get("manufacturer"),
        )

    @strawberry.field(description="the caller's own price for `quantity` units, and its source")
    async def price(self, info: Ctx, quantity: int = 1) -> Price | None:
        if not 1 <= quantity <= MAX_UNITS:
            raise InvalidQuantity(f"quantity must be 1 to {MAX_UNITS:,}")
        quote = await info.context.loaders.prices.load((str(self.id), quantity))
        return None if quote is None else Price.of(quote)

    @strawberry.field(description="available to promise, in all and per distribution centre")
    async def availability(self, info: Ctx) -> Availability | None:
        position = await info.context.loaders.stock.load(str(self.id))
        return None if position is None else Availability.of(position)


@strawberry.type
class OrderLine:
    product_id: strawberry.ID
    quantity: int
    unit_price: str | None

    @strawberry.field
    async def product(self, info: Ctx) -> Product | None:
        data = await info.context.loaders.products.load(str(self.product_id))
        return None if data is None else Product.of(data)


def _moment(value: datetime | str) -> datetime:
    """A time as a context answered it: over HTTP (and shaped as its route answers) an ISO
    8601 string, which GraphQL's DateTime would not serialise."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@strawberry.type
class HistoryEntry:
    status: str
    at: datetime
    details: JSON


@strawberry.type
class Payment:
    payment_id: strawberry.ID
    amount: str
    currency: str
    status: str
    reason: str | None
    refunded: list[str]
    created_at: datetime


@strawberry.type
class Shipment:
    id: strawberry.ID
    status: str
    carrier: str | None
    tracking_number: str | None
    dc: str | None


@strawberry.type
class Order:
    id: strawberry.ID
    user_id: strawberry.ID = strawberry.field(description="who placed it")
    status: str
    channel: str
    total_amount: str | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    sales_order_number: str | None
    failure: JSON | None
    shipping_address: JSON | None
    items: list[OrderLine]
    history: list[HistoryEntry]

    @classmethod
    def of(cls, data: Json) -> "Order":
        items = [
            OrderLine(
                product_id=strawberry.ID(i["product_id"]),
                quantity=i["quantity"],
                unit_price=i.get("unit_price"),
            )
            for i in data.get("items", [])
        ]
        history = [
            HistoryEntry(status=h["status"], at=_moment(h["at"]), details=h.get("details", {}))
            for h in data.get("history", [])
        ]
        return cls(
            id=strawberry.ID(data["order_id"]),
            user_id=strawberry.ID(data["user_id"]),
            status=data["status"],
            channel=data["channel"],
            total_amount=data.get("total_amount"),
            currency=data.get("currency"),
            created_at=_moment(data["created_at"]),
            updated_at=_moment(data["updated_at"]),
            sales_order_number=data.get("sales_order_number"),
            failure=data.get("failure"),
            shipping_address=data.get("shipping_address"),
            items=items,
            history=history,
        )

    @strawberry.field
    async def payments(self, info: Ctx) -> list[Payment]:
        rows = await info.context.loaders.payments.load(str(self.id))
        return [
            Payment(
                payment_id=strawberry.ID(p["payment_id"]),
                amount=p["amount"],
                currency=p["currency"],
                status=p["status"],
                reason=p.get("reason"),
                refunded=[r["amount"] for r in p.get("refunds", [])],
                created_at=_moment(p["created_at"]),
            )
            for p in rows
        ]

    @strawberry.field
    async def shipments(self, info: Ctx) -> list[Shipment]:
        rows = await info.context.loaders.shipments.load(str(self.id))
        return [
            Shipment(
                id=strawberry.ID(s["id"]),
                status=s["status"],
                carrier=s.get("carrier"),
                tracking_number=s.get("tracking_number"),
                dc=s.get("dc"),
            )
            for s in rows
        ]


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    account_id: str | None

    @strawberry.field(description="the B2B account the user buys for, if any")
    async def account(self, info: Ctx) -> JSON | None:
        if self.account_id is None:
            return None
        path = f"/api/v1/accounts/{quote(self.account_id, safe='')}"
        account: JSON = await _sent(info, "identity", Forwarded("GET", path))
        return account


@strawberry.type
class CartLine:
    product_id: strawberry.ID
    name: str | None
    quantity: int
    unit_price: str | None
    line_total: str | None
    held: int
    held_until: datetime | None = strawberry.field(
        description="when the first of the line's holds runs out (a change to the line renews"
        " it); null when none is held"
    )
    available: int

    @strawberry.field(description="the product, as the catalog has it now")
    async def product(self, info: Ctx) -> Product | None:
        data = await info.context.loaders.products.load(str(self.product_id))
        return None if data is None else Product.of(data)


@strawberry.type
class Cart:
    id: strawberry.ID | None
    items: list[CartLine]
    total: str | None
    currency: str

    @classmethod
    def of(cls, data: Json) -> "Cart":
        lines = [
            CartLine(
                product_id=strawberry.ID(i["product_id"]),
                name=i.get("name"),
                quantity=i["quantity"],
                unit_price=i.get("unit_price"),
                line_total=i.get("line_total"),
                held=i["held"],
                held_until=None if i.get("held_until") is None else _moment(i["held_until"]),
                available=i["available"],
            )
            for i in data["items"]
        ]
        cart_id = data.get("cart_id")
        return cls(
            id=None if cart_id is None else strawberry.ID(cart_id),
            items=lines,
            total=data.get("total"),
            currency=data["currency"],
        )


@strawberry.type
class PlacedOrder:
    order_id: strawberry.ID
    status: str
    total_amount: str | None


async def _sent(info: Ctx, context: str, request: Forwarded) -> Any:
    """A command's (or an uncommon read's) answer from the context's own route; its
    refusal raised with its code."""
    answer = await info.context.contexts.send(context, info.context.caller, request)
    if answer.status >= 400:
        raise Refused(answer.body if isinstance(answer.body, dict) else {}, answer.status)
    return answer.body


def _asked(info: Ctx, name: str) -> bool:
    """Whether the field being resolved selects `name` (fragments are not looked into). Read
    from the query's syntax tree: `info.selected_fields` converts the whole selection."""
    selection = info._raw_info.field_nodes[0].selection_set
    wanted = to_camel_case(name)
    return selection is not None and any(
        getattr(getattr(node, "name", None), "value", None) == wanted
        for node in selection.selections
    )


def known_product(ndc: str) -> str | None:
    """The product an NDC (in the form asked) was found to name, if it was looked up."""
    return _NDC_IDS.get(ndc)


async def _product_id(info: Ctx, ndc: str) -> str | None:
    """The product an NDC (or GTIN) names: None if none does, or if it names several (a
    10-digit NDC may be read more than one way)."""
    known = _NDC_IDS.get(ndc)
    if known is not None:
        return known
    if ndc_keys(ndc) is None:  # words are a search (`products`), not an identifier
        raise InvalidNdc(f"{ndc!r} is not an NDC or a GTIN")
    found = await info.context.contexts.search(info.context.caller, ndc, 2, 0)
    if len(found) != 1:
        return None
    if len(_NDC_IDS) >= _NDC_IDS_KEPT:
        _NDC_IDS.clear()
    product_id: str = found[0]["id"]
    _NDC_IDS[ndc] = product_id
    return product_id


@strawberry.type
class Query:
    @strawberry.field(
        description="A product by id, or by NDC in any format (hyphenated, NDC11, GTIN): its"
        " catalog data, the caller's price and its stock, asked of their contexts at once"
    )
    async def product(
        self, info: Ctx, id: strawberry.ID | None = None, ndc: str | None = None
    ) -> Product | None:
        if (id is None) == (ndc is None):
            raise ProductNotNamed("give a product's id or its NDC, not both")
        product_id = str(id) if id is not None else await _product_id(info, str(ndc))
        if product_id is None:
            return None
        loaders = info.context.loaders
        # asked now, so that the three contexts are called together (the loaders keep them)
        ahead: list[Awaitable[Any]] = []
        if _asked(info, "price"):
            ahead.append(loaders.prices.load((product_id, 1)))
        if _asked(info, "availability"):
            ahead.append(loaders.stock.load(product_id))
        data = await loaders.products.load(product_id)
        if data is None:
            await asyncio.gather(*ahead, return_exceptions=True)
            return None
        return Product.of(data)

    @strawberry.field(description="Products by NDC, GTIN or words, a page at a time")
    async def products(
        self, info: Ctx, search: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Product]:
        _page(limit, offset)
        found = await info.context.contexts.search(info.context.caller, search, limit, offset)
        return [Product.of(data) for data in found]

    @strawberry.field(description="One of the caller's orders (its account's; any for operators)")
    async def order(self, info: Ctx, id: strawberry.ID) -> Order:
        return Order.of(await info.context.contexts.order(info.context.caller, str(id)))

    @strawberry.field(description="The caller's orders, newest first, a page at a time")
    async def orders(
        self,
        info: Ctx,
        status: list[str] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Order]:
        _page(limit, offset)
        query = [("expand", "items"), ("expand", "history")]
        query += [("limit", str(limit)), ("offset", str(offset))]
        query += [("status", word) for word in status or ()]
        found = await info.context.contexts.orders(info.context.caller, query)
        return [Order.of(data) for data in found]

    @strawberry.field(description="The signed-in user")
    async def me(self, info: Ctx) -> User:
        caller = info.context.caller
        data = await info.context.contexts.user(caller, caller.user_id)
        return User(
            id=strawberry.ID(data["userId"]),
            email=data["email"],
            first_name=data["firstName"],
            last_name=data["lastName"],
            roles=data["roles"],
            account_id=data.get("organisationId"),
        )

    @strawberry.field(description="The caller's cart, priced, with what inventory holds for it")
    async def cart(self, info: Ctx) -> Cart:
        return Cart.of(await _sent(info, "ordering", Forwarded("GET", "/api/v1/cart")))


@strawberry.input
class LineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class AddressInput:
    line1: str
    city: str
    postal_code: str
    country: str
    name: str = ""
    line2: str = ""
    state: str = ""


@strawberry.input
class CsosInput:
    order_number: str
    signature: str


@strawberry.input
class PlaceOrderInput:
    items: list[LineInput]
    shipping_address: AddressInput
    payment_method: str | None = None
    channel: str | None = None
    csos: CsosInput | None = None


def _order_body(given: PlaceOrderInput) -> Json:
    body: Json = {
        "items": [{"product_id": str(i.product_id), "quantity": i.quantity} for i in given.items],
        "shipping_address": strawberry.asdict(given.shipping_address),
        "payment_method": given.payment_method,
    }
    if given.channel is not None:
        body["channel"] = given.channel
    if given.csos is not None:
        body["csos"] = strawberry.asdict(given.csos)
    return body


def _placed(order: Json) -> PlacedOrder:
    return PlacedOrder(
        order_id=strawberry.ID(order["order_id"]),
        status=order["status"],
        total_amount=order.get("total_amount"),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Place an order through any flow the caller may use")
    async def place_order(
        self, info: Ctx, input: PlaceOrderInput, idempotency_key: str | None = None
    ) -> PlacedOrder:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        request = Forwarded("POST", "/api/v1/orders", _order_body(input), headers)
        return _placed(await _sent(info, "ordering", request))

    @strawberry.mutation(description="Cancel an order before it ships")
    async def cancel_order(self, info: Ctx, id: strawberry.ID) -> Order:
        request = Forwarded("POST", f"/api/v1/orders/{quote(str(id), safe='')}/cancel")
        return Order.of(await _sent(info, "ordering", request))

    @strawberry.mutation(description="Put units of a product in the cart (its stock held)")
    async def add_to_cart(self, info: Ctx, product_id: strawberry.ID, quantity: int) -> Cart:
        body = {"product_id": str(product_id), "quantity": quantity}
        request = Forwarded("POST", "/api/v1/cart/items", body)
        return Cart.of(await _sent(info, "ordering", request))

    @strawberry.mutation(description="Change a cart line's quantity (0 takes it out)")
    async def set_cart_quantity(self, info: Ctx, product_id: strawberry.ID, quantity: int) -> Cart:
        request = Forwarded(
            "PUT", f"/api/v1/cart/items/{quote(str(product_id), safe='')}", {"quantity": quantity}
        )
        return Cart.of(await _sent(info, "ordering", request))

    @strawberry.mutation(description="Take a product out of the cart")
    async def remove_from_cart(self, info: Ctx, product_id: strawberry.ID) -> Cart:
        request = Forwarded("DELETE", f"/api/v1/cart/items/{quote(str(product_id), safe='')}")
        return Cart.of(await _sent(info, "ordering", request))

    @strawberry.mutation(description="The cart becomes an order through the caller's flow")
    async def check_out_cart(
        self,
        info: Ctx,
        shipping_address: AddressInput,
        payment_method: str | None = None,
        channel: str | None = None,
        csos: CsosInput | None = None,
    ) -> PlacedOrder:
        body: Json = {
            "shipping_address": strawberry.asdict(shipping_address),
            "payment_method": payment_method,
        }
        if channel is not None:
            body["channel"] = channel
        if csos is not None:  # a schedule II line's: signed over the cart's lines
            body["csos"] = strawberry.asdict(csos)
        request = Forwarded("POST", "/api/v1/cart/checkout", body)
        return _placed(await _sent(info, "ordering", request))


# An order's status words once nothing more will happen to it, in every flow's words.
FINAL = frozenset({"DELIVERED", "CANCELLED", "FAILED", "PAYMENT_FAILED", "REJECTED"})
# Seconds between two looks at a watched order.
WATCH_EVERY = 1.0


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An order as it moves: now, then each time its status changes, until it"
        " is delivered, cancelled or failed"
    )
    async def order_status(self, info: Ctx, id: strawberry.ID) -> AsyncGenerator[Order, None]:
        seen = None
        while True:
            order = await info.context.contexts.order(info.context.caller, str(id))
            if order["status"] != seen:
                seen = order["status"]
                info.context.read_anew()
                yield Order.of(order)
            if str(seen).upper() in FINAL:
                return
            await asyncio.sleep(WATCH_EVERY)
