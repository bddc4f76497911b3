"""The in-process adapters: one context's port answered by another context's code, for the
contexts a process serves together. Only `bootstrap` wires them; no context imports another."""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import structlog

from orderly.catalog import service as catalog
from orderly.identity import accounts
from orderly.inventory import provisional, queries, stock
from orderly.inventory.errors import ProductNotFound
from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.clock import utcnow
from orderly.kernel.principal import Principal
from orderly.ordering.availability import UnknownProduct
from orderly.ordering.buyers import Standing
from orderly.ordering.prices import LinePrice
from orderly.pricing.prices import wac_from_catalog
from orderly.pricing.quoting import quotes
from orderly.storage import Database

log = structlog.get_logger(__name__)


class LocalAvailability:
    """Ordering's `ProductAvailability`: inventory's read-only query and holds, directly."""

    def __init__(self, inventory: Database, hold_ttl: timedelta) -> None:
        self._inventory = inventory
        self._hold_ttl = hold_ttl

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        try:
            return await queries.check_availability(self._inventory, requested, cart=cart)
        except ProductNotFound as error:
            raise UnknownProduct(error.detail, **error.extensions) from None

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        try:
            outcome = await provisional.hold(
                self._inventory,
                order_id,
                requested,
                account=caller.account,
                customer=caller.user_id,
                cart_id=cart_id or "",
                ttl=self._hold_ttl,
            )
        except ProductNotFound as error:
            raise UnknownProduct(error.detail, **error.extensions) from None
        return [] if outcome.reserved else provisional.short_lines(outcome)

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        try:
            await provisional.let_go(self._inventory, order_id)
        except Exception as error:  # the hold runs out by itself
            log.warning("letting go of a hold failed", order=order_id, error=type(error).__name__)

    async def close(self) -> None:
        return None


class LocalStanding:
    """Ordering's `AccountStanding`: identity's store, read directly.

    A standing read is kept while identity's database is unchanged (`Database.version`:
    any commit to it, by any process, moves it) and the day is the same (a registration
    lapses at midnight). Orders placed one after another by the same buyer then cost no
    read of identity, and nothing committed there is ever missed."""

    _KEPT_AT_MOST = 10_000

    def __init__(self, identity: Database) -> None:
        self._identity = identity
        self._kept: dict[tuple[str, str | None, tuple[str, ...]], Standing] = {}
        self._kept_for: tuple[int | None, date] = (None, date.min)

    async def of(self, caller: Principal) -> Standing:
        # the version is asked first: a change committed while the standing is read moves
        # it again, and the next caller reads afresh
        now = (self._identity.version(), utcnow().date())
        if now[0] is None or now != self._kept_for or len(self._kept) >= self._KEPT_AT_MOST:
            self._kept.clear()
            self._kept_for = now
        key = (caller.user_id, caller.account, caller.roles)
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        user, account = await accounts.user_and_account(self._identity, caller)
        standing = Standing.of(caller, user)
        if standing.account is not None:
            standing = standing.with_account(account)
        if now[0] is not None and self._kept_for == now:
            self._kept[key] = standing
        return standing

    async def close(self) -> None:
        return None


class LocalProducts:
    """Ordering's `ProductSource`: catalog's store, read directly."""

    def __init__(self, catalog: Database) -> None:
        self._catalog = catalog

    async def fetch(self, product_id: str, *, token: str) -> dict[str, Any] | None:
        try:
            return await catalog.get_product(self._catalog, product_id)
        except catalog.ProductNotFound:
            return None

    async def close(self) -> None:
        return None


class LocalPrices:
    """Ordering's `PriceBook`: pricing's store, read directly."""

    def __init__(self, pricing: Database) -> None:
        self._pricing = pricing

    async def quote(
        self, caller: Principal, requested: Sequence[tuple[str, int]]
    ) -> list[LinePrice | None]:
        found = await quotes(self._pricing, caller.account, requested)
        return [
            None
            if quote is None
            else LinePrice(
                quote.cents, quote.source.value, quote.contract_id, quote.effective_date.isoformat()
            )
            for quote in found
        ]

    async def close(self) -> None:
        return None


class LocalListPrices:
    """Catalog's `ListPrices`: pricing's command, directly."""

    def __init__(self, pricing: Database) -> None:
        self._pricing = pricing

    async def set(self, product_id: str, price: Decimal, *, token: str) -> None:
        await wac_from_catalog(self._pricing, product_id, price)

    async def close(self) -> None:
        return None


class LocalStockRecords:
    """Catalog's `StockRecords`: inventory's command, directly."""

    def __init__(self, inventory: Database) -> None:
        self._inventory = inventory

    async def open(self, product_id: str, sku: str, initial: int, *, token: str) -> None:
        await stock.add_item(self._inventory, product_id, sku, initial)

    async def close(self) -> None:
        return None
