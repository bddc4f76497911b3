"""The one place that wires ports to implementations and starts the background workers."""

import asyncio
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from orderly.catalog import cached as cached_products
from orderly.catalog.listprices import HttpListPrices, ListPrices
from orderly.catalog.messages import ProductUpdated
from orderly.catalog.stock import HttpStockRecords, StockRecords
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired
from orderly.fulfillment.topics import WMS_TOPICS
from orderly.identity.authenticator import (
    Authenticator,
    LocalAuthenticator,
    RemoteAuthenticator,
    on_revocation,
)
from orderly.identity.external import ExternalAuthenticator, ExternalIssuer
from orderly.identity.messages import REVOCATIONS
from orderly.identity.tokens import KeyRing, TokenService, TokenSettings
from orderly.inventory.policy import policy as inventory_policy
from orderly.kernel.faults import Switches
from orderly.local import (
    LocalAvailability,
    LocalListPrices,
    LocalPrices,
    LocalProducts,
    LocalStanding,
    LocalStockRecords,
)
from orderly.messaging.consumer import Consumer, RetryPolicy, RetryWorker
from orderly.messaging.envelope import Envelope
from orderly.messaging.relay import Relay
from orderly.messaging.routing import Topology
from orderly.messaging.transports import Transport, open_transport
from orderly.messaging.upkeep import pruner
from orderly.ordering.availability import HttpAvailability, ProductAvailability, Switchable
from orderly.ordering.breaker import GuardedAvailability
from orderly.ordering.buyers import AccountStanding, HttpStanding
from orderly.ordering.policy import policy as ordering_policy
from orderly.ordering.prices import HttpPrices, PriceBook
from orderly.ordering.products import HttpProducts, ProductSource
from orderly.pricing.messages import PriceWacChanged
from orderly.retention import CONTEXTS as RETAINED
from orderly.retention import RetentionPolicy, every
from orderly.startup import StartupError, migrate_all, open_databases, unreachable
from orderly.storage import Database
from orderly.storage.cache import Cache, RedisCache, Shelf, open_cache

log = structlog.get_logger(__name__)

# Seconds a stopping process gives the messages it is handling to finish (supervisord and
# Kubernetes wait 30 for the whole process).
DRAIN_WITHIN = 20.0


def token_settings(settings: Settings) -> TokenSettings:
    return TokenSettings(
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
    )


def context_specs() -> dict[str, ContextSpec]:
    from orderly.config import ALL_CONTEXTS

    return {
        name: importlib.import_module(f"orderly.{name}.context").CONTEXT for name in ALL_CONTEXTS
    }


def wire_all(settings: Settings) -> dict[str, Wired]:
    """Every context's handlers and workers, bound to `settings`."""
    return {name: spec.wire(settings) for name, spec in context_specs().items()}


def topology(settings: Settings) -> Topology:
    """Every context's published types and consumers, whether served here or not, and seed
    004's topics."""
    wired = wire_all(settings)
    publishers: dict[str, tuple[str, ...]] = {}
    for spec in context_specs().values():
        for message_type in spec.publishes:
            publishers[message_type] = (*publishers.get(message_type, ()), spec.name)
    return Topology(
        publishers=publishers,
        subscriptions=[sub for parts in wired.values() for sub in parts.subscriptions],
        topics=WMS_TOPICS,
    )


async def _identity_ports(
    settings: Settings, databases: Mapping[str, Database]
) -> tuple[TokenService | None, Authenticator]:
    """Issue and check tokens here when identity is local; otherwise ask identity's service.

    With an external issuer configured, every process checks tokens against its keys."""
    tokens: TokenService | None = None
    if "identity" in databases:
        keys = KeyRing(databases["identity"])
        await keys.load()
        tokens = TokenService(keys, token_settings(settings))
    if settings.external_issuer:
        return tokens, ExternalAuthenticator(ExternalIssuer.from_settings(settings))
    if tokens is None:
        return None, RemoteAuthenticator(settings.identity_url)
    return tokens, LocalAuthenticator(tokens, databases["identity"])


def _product_source(settings: Settings, databases: Mapping[str, Database]) -> ProductSource | None:
    if "ordering" not in databases:
        return None
    if "catalog" in databases:
        return LocalProducts(databases["catalog"])
    return HttpProducts(settings.catalog_url) if settings.catalog_url else None


def _price_book(settings: Settings, databases: Mapping[str, Database]) -> PriceBook | None:
    if "ordering" not in databases:
        return None
    if "pricing" in databases:
        return LocalPrices(databases["pricing"])
    return HttpPrices(settings.pricing_url) if settings.pricing_url else None


def _list_prices(settings: Settings, databases: Mapping[str, Database]) -> ListPrices | None:
    if "catalog" not in databases:
        return None
    if "pricing" in databases:
        return LocalListPrices(databases["pricing"])
    return HttpListPrices(settings.pricing_url) if settings.pricing_url else None


def _stock_records(settings: Settings, databases: Mapping[str, Database]) -> StockRecords | None:
    if "catalog" not in databases:
        return None
    if "inventory" in databases:
        return LocalStockRecords(databases["inventory"])
    return HttpStockRecords(settings.inventory_url) if settings.inventory_url else None


@dataclass
class Runtime:
    settings: Settings
    databases: Mapping[str, Database]
    transport: Transport
    availability: ProductAvailability | None
    topology: Topology
    authenticator: Authenticator
    tokens: TokenService | None = None
    standing: AccountStanding | None = None
    # ordering asks catalog of products it has not heard of; catalog tells inventory of new ones
    products: ProductSource | None = None
    stock_records: StockRecords | None = None
    # ordering prices orders and carts at the caller's own price, asked of pricing
    prices: PriceBook | None = None
    # catalog tells pricing a product's WAC before it answers
    list_prices: ListPrices | None = None
    consumers: dict[str, Consumer] = field(default_factory=dict)
    relays: dict[str, Relay] = field(default_factory=dict)
    retry_workers: dict[str, RetryWorker] = field(default_factory=dict)
    tasks: list["asyncio.Task[Any]"] = field(default_factory=list)
    # what an operator may switch off in this process (ORDERLY_FAULT_SWITCHES); none: nothing
    switches: Switches | None = None
    # the read cache (docs/cache.md), and what each context served here keeps in it
    cache: Cache | None = None
    order_cache: Shelf | None = None
    product_cache: Shelf | None = None

    @classmethod
    async def start(cls, settings: Settings, *, run_migrations: bool = True) -> "Runtime":
        if run_migrations:
            await migrate_all(settings)
        databases = await open_databases(settings)
        try:
            transport = await open_transport(settings.broker_url, settings.broker_namespace)
        except Exception as error:
            for db in databases.values():
                await db.close()
            raise StartupError(unreachable("broker", settings.broker_url, error)) from None
        availability: ProductAvailability | None = None
        if "inventory" in databases:
            availability = LocalAvailability(
                databases["inventory"], inventory_policy(settings).hold_ttl
            )
        elif settings.inventory_url:
            availability = HttpAvailability(settings.inventory_url, settings.service_key)
        switches = Switches() if settings.fault_switches else None
        if availability is not None and switches is not None:
            availability = Switchable(availability, switches)
        if availability is not None and "ordering" in databases:
            # the guarded checkout's breaker sits in front of every availability call
            timing = ordering_policy(settings).timing
            availability = GuardedAvailability(availability, databases["ordering"], timing)
        tokens, authenticator = await _identity_ports(settings, databases)
        standing: AccountStanding | None = None
        if "ordering" in databases and "identity" in databases:
            standing = LocalStanding(databases["identity"])
        elif "ordering" in databases and settings.identity_url:
            standing = HttpStanding(settings.identity_url)
        runtime = cls(
            settings,
            databases,
            transport,
            availability,
            topology(settings),
            authenticator,
            tokens,
            standing,
            _product_source(settings, databases),
            _stock_records(settings, databases),
            _price_book(settings, databases),
            _list_prices(settings, databases),
            switches=switches,
        )
        try:
            await runtime._open_cache()
        except StartupError:
            await transport.close()
            for db in databases.values():
                await db.close()
            raise
        await runtime._start_messaging()
        return runtime

    async def _open_cache(self) -> None:
        settings = self.settings
        prefix = settings.cache_prefix or settings.broker_namespace
        cache = open_cache(settings.cache_url, prefix, settings.cache_ttl, settings.cache_size)
        if cache is None:
            return
        if isinstance(cache, RedisCache):
            try:
                await cache.ping()
            except Exception as error:
                await cache.close()
                raise StartupError(unreachable("cache", settings.cache_url, error)) from None
        self.cache = cache
        if "ordering" in self.databases:
            self.order_cache = Shelf(cache, "orders")
        if "catalog" in self.databases:
            self.product_cache = Shelf(cache, "products")

    async def _listen_for_invalidations(self) -> None:
        """Every process serving catalog drops the products that changed, as it hears of them."""
        shelf = self.product_cache
        if shelf is None:
            return
        catalog = self.databases["catalog"]

        async def product_updated(message: Envelope) -> None:
            await cached_products.forget_on_product_updated(shelf, message)

        async def wac_changed(message: Envelope) -> None:
            await cached_products.forget_on_wac_changed(catalog, shelf, message)

        await self.transport.listen("catalog", (ProductUpdated.TYPE,), product_updated)
        await self.transport.listen("pricing", (PriceWacChanged.TYPE,), wac_changed)

    async def _start_messaging(self) -> None:
        settings = self.settings
        policy = RetryPolicy(settings.retry_max_attempts, settings.retry_base_delay)
        if settings.consumers_enabled:
            for sub in self.topology.subscriptions:
                if sub.context in self.databases:
                    self.consumers[sub.consumer] = Consumer(
                        sub, self.databases[sub.context], policy
                    )
        await self.transport.start(
            self.topology, [(c.subscription, c.deliver) for c in self.consumers.values()]
        )
        authenticator = self.authenticator

        async def revoked(message: Envelope) -> None:
            await on_revocation(authenticator, message)

        await self.transport.listen("identity", REVOCATIONS, revoked)
        await self._listen_for_invalidations()
        wired = wire_all(settings)
        for name, db in self.databases.items():
            for worker_loop in wired[name].workers:
                self.tasks.append(
                    asyncio.create_task(
                        worker_loop(db, settings.sweep_interval), name=f"worker:{name}"
                    )
                )
            retention = timedelta(seconds=settings.message_retention)
            self.tasks.append(
                asyncio.create_task(
                    pruner(db, retention, settings.prune_interval), name=f"prune:{name}"
                )
            )
            local = {n: c for n, c in self.consumers.items() if c.subscription.context == name}
            if local:
                worker = RetryWorker(db, local, settings.poll_interval)
                self.retry_workers[name] = worker
                self.tasks.append(asyncio.create_task(worker.run(), name=f"retries:{name}"))
            if settings.relay_enabled:
                relay = Relay(db, self.transport, poll_interval=settings.poll_interval)
                self.relays[name] = relay
                self.tasks.append(asyncio.create_task(relay.run(), name=f"relay:{name}"))

        if settings.retention_interval > 0 and all(n in self.databases for n in RETAINED):
            kept = RetentionPolicy.of(settings)
            self.tasks.append(
                asyncio.create_task(
                    every(self.databases, kept, settings.retention_interval), name="retention"
                )
            )

    def wake_retries(self) -> None:
        for worker in self.retry_workers.values():
            worker.wakeup.set()

    async def stop(self) -> None:
        # the deliveries begun are handled and acknowledged first: none is redelivered
        await self.transport.drain(within=DRAIN_WITHIN)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for relay in self.relays.values():
            await relay.settle()
        await self.transport.close()
        if self.availability is not None:
            await self.availability.close()
        await self.authenticator.close()
        if self.standing is not None:
            await self.standing.close()
        if self.products is not None:
            await self.products.close()
        if self.stock_records is not None:
            await self.stock_records.close()
        if self.prices is not None:
            await self.prices.close()
        if self.list_prices is not None:
            await self.list_prices.close()
        if self.cache is not None:
            await self.cache.close()
        for db in self.databases.values():
            await db.close()
