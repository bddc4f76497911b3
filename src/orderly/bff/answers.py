"""The product page's answers, kept a moment for the caller who asked: seed 004's read path
(Query → Cache → DB) for BFF-web's busiest query, seed 000's product page.

Only a query whose every root field is `product` (by id, or by an NDC already looked up) is
kept, under a key made of the caller (user, account, roles), the day, and the query with its
variables, for `ORDERLY_PAGE_CACHE_TTL` seconds: the page answers another caller, or the same
one with another query, from its own entry or from the contexts. A product's answers are
dropped at once when this process hears that the product, its WAC or its stock changed
(`product.updated`, `price.wac_changed`, `inventory.reserved`, `.released`, `.received`);
what publishes no news (a contract edited, a cart's hold, a lot quarantined) shows once the
answer has lived out its seconds.

Each product has an epoch in the cache, and an answer records the epochs of its products
when it was made: dropping a product's epoch makes every answer that shows it stale at once,
in this process's memory or in Redis for every process, without finding them. The cache's
tickets keep a reader that read the contexts before a change from filling an epoch after
the change dropped it. Where catalog's entries are in the same cache, an answer also
records a digest of each product's entry, which catalog drops once a change is committed:
whoever changed a product reads the page changed at once (docs/cache.md)."""

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
)

from orderly.catalog.messages import ProductUpdated
from orderly.inventory.messages import InventoryReceived, InventoryReleased, InventoryReserved
from orderly.kernel.principal import Principal
from orderly.messaging import Envelope
from orderly.messaging.transports import Transport
from orderly.observability import CACHE_REQUESTS
from orderly.pricing.messages import PriceWacChanged
from orderly.storage.cache import Cache, Lookup

log = structlog.get_logger(__name__)

_EPOCH = "pages:epoch:"
_ANSWER = "pages:answer:"
_PRODUCT = "products:"  # catalog's entries (`catalog.cached`)
# What each context publishes that changes a product's page, the product named in it.
NEWS = (
    ("catalog", (ProductUpdated.TYPE,)),
    ("pricing", (PriceWacChanged.TYPE,)),
    ("inventory", (InventoryReserved.TYPE, InventoryReleased.TYPE, InventoryReceived.TYPE)),
)
_HIT = CACHE_REQUESTS.labels("pages", "hit")
_MISS = CACHE_REQUESTS.labels("pages", "miss")


@dataclass(frozen=True)
class Plan:
    """The products a query asks for: each root field's argument (`id` or `ndc`) and its
    value, or the variable that holds it."""

    products: tuple[tuple[str, str, bool], ...]  # (argument, value or variable, is a variable)


_PLANS: dict[tuple[str, str | None], Plan | None] = {}
_PLANS_KEPT = 1_000


def plan(query: str, operation_name: str | None) -> Plan | None:
    """What `query` asks for if it is a product page (None if it is anything else), from its
    text read once."""
    key = (query, operation_name)
    if key in _PLANS:
        return _PLANS[key]
    found = _plan(query, operation_name)
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[key] = found
    return found


def _plan(query: str, operation_name: str | None) -> Plan | None:
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    products = []
    for node in operations[0].selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives:
            return None
        if node.name.value == "__typename":
            continue
        arguments = node.arguments or ()
        if node.name.value != "product" or len(arguments) != 1:
            return None
        argument = arguments[0]
        if isinstance(argument.value, VariableNode):
            products.append((argument.name.value, argument.value.name.value, True))
        elif isinstance(argument.value, StringValueNode):
            products.append((argument.name.value, argument.value.value, False))
        else:
            return None
    return Plan(tuple(products)) if products else None


def product_ids(
    asked: Plan, variables: Mapping[str, Any] | None, known_ndc: Callable[[str], str | None]
) -> list[str] | None:
    """The products' ids, or None if one is not known without asking a context."""
    ids = []
    for argument, named, variable in asked.products:
        value = (variables or {}).get(named) if variable else named
        if not isinstance(value, str):
            return None
        found = value if argument == "id" else known_ndc(value) if argument == "ndc" else None
        if found is None:
            return None
        ids.append(found)
    return ids


@dataclass(frozen=True)
class Miss:
    """What a reader that found no answer needs to keep the one it makes."""

    key: str
    ticket: int
    epochs: dict[str, str]  # the products' epochs found
    missing: dict[str, int]  # the products without one: the ticket to make it with
    products: dict[str, str]  # each product's catalog entry, as a digest of its bytes


class Answers:
    """The product page's answers in the process's read cache (memory or Redis)."""

    def __init__(
        self,
        cache: Cache,
        ttl: float,
        known_ndc: Callable[[str], str | None],
        *,
        products_shared: bool,
    ) -> None:
        self.cache = cache
        self.ttl = ttl
        self._known_ndc = known_ndc
        # Whether catalog's own entries (`products:<id>`) are in this cache: then an answer
        # is good only while its products' entries are the ones it was made with, which
        # catalog drops as soon as a change is committed (read-your-writes, as for them).
        self.products_shared = products_shared

    async def find(
        self,
        caller: Principal,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> tuple[dict[str, Any] | None, Miss | None]:
        """The kept answer (its `data`), or None and what keeping one needs (None if this
        query's answer is not kept)."""
        asked = plan(query, operation_name)
        ids = None if asked is None else product_ids(asked, variables, self._known_ndc)
        if not ids:
            return None, None
        day = datetime.now(UTC).date().isoformat()  # contracts start and end on days
        who = [caller.user_id, caller.account, sorted(caller.roles), caller.segment, day]
        text = orjson.dumps([*who, query, operation_name, variables], option=orjson.OPT_SORT_KEYS)
        key = _ANSWER + hashlib.blake2b(text, digest_size=20).hexdigest()
        keys = [_EPOCH + i for i in ids]
        if self.products_shared:
            keys += [_PRODUCT + i for i in ids]
        try:
            found = await self.cache.lookup([*keys, key])
        except Exception as error:  # a cache that fails is a miss, and nothing kept
            log.warning("cache lookup failed", cache="pages", error=type(error).__name__)
            _MISS.inc()
            return None, None
        answer = found[-1]
        epochs: dict[str, str] = {}
        missing: dict[str, int] = {}
        for product_id, epoch in zip(ids, found, strict=False):
            if epoch.value is not None:
                epochs[product_id] = epoch.value.decode()
            elif epoch.ticket is not None:
                missing[product_id] = epoch.ticket
            else:
                answer = Lookup(None, None)
        products: dict[str, str] = {}
        for product_id, product in zip(ids, found[len(ids) : -1], strict=False):
            if product.value is None:  # changed, and not read since: read it before keeping
                answer = Lookup(None, None)
            else:
                products[product_id] = hashlib.blake2b(product.value, digest_size=8).hexdigest()
        if answer.value is not None and not missing:
            kept = orjson.loads(answer.value)
            if kept["epochs"] == epochs and kept["products"] == products:
                _HIT.inc()
                data: dict[str, Any] = kept["data"]
                return data, None
        _MISS.inc()
        if answer.ticket is None:
            return None, None
        return None, Miss(key, answer.ticket, epochs, missing, products)

    async def keep(self, miss: Miss, data: dict[str, Any]) -> bool:
        """Keep `data` as the answer `miss` looked for; whether it was kept (not if one of its
        products changed since the reader looked)."""
        epochs = dict(miss.epochs)
        try:
            for product_id, ticket in miss.missing.items():
                epoch = secrets.token_hex(8)
                if not await self.cache.fill(_EPOCH + product_id, epoch.encode(), ticket):
                    return False
                epochs[product_id] = epoch
            value = orjson.dumps({"epochs": epochs, "products": miss.products, "data": data})
            return await self.cache.fill(miss.key, value, miss.ticket, ttl=self.ttl)
        except Exception as error:
            log.warning("cache fill failed", cache="pages", error=type(error).__name__)
            return False

    async def forget(self, product_id: str) -> None:
        """Every kept answer that shows the product is stale from now on."""
        try:
            await self.cache.invalidate(_EPOCH + product_id)
        except Exception as error:
            log.warning("cache invalidation failed", cache="pages", error=type(error).__name__)

    async def forget_on_news(self, message: Envelope) -> None:
        for product_id in set(named_products(message)):
            await self.forget(product_id)

    async def listen(self, transport: Transport) -> None:
        """Hear every context's news that changes a product's page (per process, as the
        cache in memory is)."""
        for context, types in NEWS:
            await transport.listen(context, types, self.forget_on_news)


def named_products(message: Envelope) -> list[str]:
    """The products a piece of news names, read as its publisher declares it."""
    if message.type == ProductUpdated.TYPE:
        return [message.read(ProductUpdated).product_id]
    if message.type == PriceWacChanged.TYPE:
        return [message.read(PriceWacChanged).product_id]
    if message.type == InventoryReceived.TYPE:
        return [message.read(InventoryReceived).product_id]
    if message.type == InventoryReserved.TYPE:
        return [line.product_id for line in message.read(InventoryReserved).items]
    if message.type == InventoryReleased.TYPE:
        return [line.product_id for line in message.read(InventoryReleased).items]
    return []
