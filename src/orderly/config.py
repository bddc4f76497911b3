"""Settings, from the environment (`ORDERLY_*`) or a TOML file named by `ORDERLY_CONFIG`."""

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ALL_CONTEXTS = (
    "identity",
    "catalog",
    "pricing",
    "inventory",
    "ordering",
    "payments",
    "fulfillment",
    "compliance",
    "erp",
    "notifications",
    "history",
)
# The backends for frontends: they own no tables, and call the contexts (BFF_CONTEXTS).
BFFS = ("bff-web", "bff-mobile")
BFF_CONTEXTS = (
    "identity",
    "catalog",
    "pricing",
    "inventory",
    "ordering",
    "payments",
    "fulfillment",
)
# Checkout flows a channel may choose, and those this version can run.
CHANNELS = ("direct", "b2c", "guarded", "b2b")
AVAILABLE_CHANNELS = CHANNELS
# Signature algorithms an external issuer may use: public-key ones only.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class ConfigError(ValueError):
    """A setting that cannot work; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var"
    # PostgreSQL connections each context's pool may open in one process (the server's
    # max_connections is shared by every process of every deployment on it)
    database_pool_size: int = 10
    broker_url: str = ""
    broker_namespace: str = "orderly"
    # The read cache (docs/cache.md): Redis's URL (`redis://host:6379/0`), shared by every
    # process; none: each process keeps its own in memory; `off`: no cache. Keys start with
    # `cache_prefix` (none: the broker's namespace), so deployments sharing a Redis never
    # see each other's entries; an entry lives `cache_ttl` seconds at most, and a process
    # keeps `cache_size` entries at most in memory.
    cache_url: str = ""
    cache_prefix: str = ""
    cache_ttl: float = 300.0
    cache_size: int = 10_000
    # Seconds the product page's GraphQL answer is kept for its caller (docs/cache.md); 0:
    # never kept. The product's, its WAC's and its stock's news drop it sooner.
    page_cache_ttl: float = 2.0
    contexts: tuple[str, ...] = ALL_CONTEXTS
    # The BFFs this process serves (`ORDERLY_CONTEXTS` may name them among the contexts;
    # seed 002's ports, 3010 and 3011, when one is served alone), and the base URLs of the
    # contexts a BFF calls when they are not all served here; seconds a BFF's call may take.
    bffs: tuple[str, ...] = BFFS
    ordering_url: str = ""
    payments_url: str = ""
    fulfillment_url: str = ""
    bff_timeout: float = 2.0
    # seconds a command (a checkout) sent on by a BFF may take: above ORDERLY_CHECKOUT_WAIT
    bff_command_timeout: float = 30.0
    # `/graphql` answers introspection (and serves GraphiQL) only when set
    graphql_introspection: bool = False
    # `PUT /api/v1/admin/faults` lets an operator make a context this process calls
    # unreachable, for a drill (the breaker opening) or `orderly demo run`; never in production
    fault_switches: bool = False
    # The web app's build (`web/out`) served at `/` with BFF-web: empty for the repository's
    # own, when built; `off` for none.
    web_root: str = ""
    inventory_url: str = ""
    # catalog's base URL, for an ordering process without catalog (products it has not
    # heard of yet are asked there before an order is refused)
    catalog_url: str = ""
    # pricing's base URL, for an ordering process without pricing (orders and carts are
    # priced at the caller's own price, asked there) and a catalog process without it (a
    # product's price is its WAC, told there before the product's 201)
    pricing_url: str = ""
    identity_url: str = ""
    relay_enabled: bool = True
    migrate_on_start: bool = True
    consumers_enabled: bool = True
    retry_max_attempts: int = 5
    retry_base_delay: float = 0.5
    poll_interval: float = 1.0
    # Seconds between sweeps of expired soft reservations (and other periodic upkeep).
    sweep_interval: float = 5.0
    # Seconds a cart's soft reservation holds stock (seed 000's cart hold).
    soft_reservation_ttl: float = 900.0
    # Seconds a direct order's stock is held before its order confirms the hold; an order
    # never committed (its request failed, its process died) gives the stock back then.
    order_hold_ttl: float = 900.0
    # The key a deployment's services show each other on their internal routes (inventory's
    # holds, which ordering asks for before writing a direct order); never logged.
    service_key: str = field(default="", repr=False)
    # Units one cart may hold of one product: consumers, then per B2B segment (segment:units);
    # and seconds a hold may live from when it was first taken, however often it is renewed.
    soft_hold_limit: int = 20
    soft_hold_limits: tuple[str, ...] = (
        "independent:500",
        "chain:2000",
        "hospital:1000",
        "clinic:200",
        "long_term_care:500",
    )
    soft_hold_max_age: float = 3600.0
    # Seconds published outbox rows and processed inbox rows are kept, and between prunings.
    message_retention: float = 7 * 24 * 3600.0
    prune_interval: float = 300.0
    # Data retention (docs/history.md): days an ended order is kept before it is archived and
    # removed, days the order history keeps events, days the mail log keeps mails (0: kept);
    # where archives go (none: `archive` beside SQLite's files, or in the working folder);
    # seconds between runs in a process that holds every database concerned (0: none).
    retention_orders_days: int = 7 * 365 + 2
    retention_events_days: int = 30
    retention_mails_days: int = 0
    retention_archive_dir: str = ""
    retention_interval: float = 24 * 3600.0
    # The checkout flow an order takes when it names none, and the flows callers may use:
    # `channels` for consumers, `account_channels` for members of B2B accounts (the first
    # is theirs when they name none).
    default_channel: str = "direct"
    channels: tuple[str, ...] = ("direct", "b2c", "guarded")
    account_channels: tuple[str, ...] = ("b2b", "direct")
    # Sagas: seconds a step waits for its answer, and how often its command is sent again.
    saga_step_timeout: float = 30.0
    saga_step_retries: int = 3
    # The B2B checkout (seed 000): seconds an order waits for an approver, and for an
    # analyst's word on an order compliance held, before it fails.
    approval_timeout: float = 3 * 24 * 3600.0
    hold_timeout: float = 7 * 24 * 3600.0
    # The ERP's sales order API (`orderly erp-sim` serves a simulated one), seconds one call
    # may take, and how often a call that timed out or failed is tried again.
    erp_url: str = "http://127.0.0.1:8070"
    erp_timeout: float = 5.0
    erp_retries: int = 2
    erp_concurrency: int = 256
    # The card gateway payments charges through (`orderly payments-sim` serves a simulated one
    # over HTTP; none: each process's own simulated gateway, in memory), and seconds one call
    # may take before its outcome is taken as unknown.
    payment_gateway_url: str = ""
    payment_gateway_timeout: float = 5.0
    # E-mail: the SMTP server (smtp://host:port; none: mails are kept and logged, not sent),
    # the sender, and how often a mail the server refused is tried again.
    smtp_url: str = ""
    mail_from: str = "Orderly <orders@orderly.invalid>"
    mail_retries: int = 5
    # The warehouse (seed 004): the carrier that collects, its daily cut-off (UTC, HH:MM),
    # how much one wave holds, what a short pick does to the units not found (`backorder`
    # them, or `cancel_line`; `cancel` is its older name), and seconds each wait of an order's
    # fulfillment lasts before an operator is told (waves and picks and packing: escalated,
    # never failed; the carrier's pickup: escalated, then failed; delivery: escalated).
    carrier: str = "UPS"
    carrier_cutoff: str = "16:00"
    wave_max_lines: int = 200
    wave_max_units: int = 2000
    short_pick: str = "backorder"
    # a backorder is released once its product's stock is received (`auto`), or only by an
    # operator (`manual`)
    backorder_release: str = "auto"
    floor_wait: float = 4 * 3600.0
    ship_wait: float = 600.0
    delivery_wait: float = 7 * 24 * 3600.0
    # An external WMS/TMS that picks, packs and ships instead of Orderly's own floor (its
    # base URL; none: Orderly's own), and seconds one call to it may take.
    wms_url: str = ""
    wms_timeout: float = 5.0
    # Seconds before its carrier's cut-off an open wave goes to the floor by itself.
    wave_release_lead: float = 2 * 3600.0
    # Seconds a guarded checkout waits for its outcome before answering 202.
    checkout_wait: float = 5.0
    # The guarded checkout's breaker on inventory: failures in a row, then seconds open.
    breaker_threshold: int = 5
    breaker_ttl: float = 10.0
    max_body_bytes: int = 1_048_576
    # argon2id's cost for new password hashes: KiB of memory and passes (OWASP's floor is
    # 19 MiB and 2 passes; lower only where nothing real is kept, as in tests)
    password_hash_memory: int = 65_536
    password_hash_passes: int = 3
    # Registrations one client address may make per window (seconds), all processes together.
    registration_limit: int = 5
    registration_window: float = 3600.0
    # A request's line and headers, in bytes all told (and at most 100 headers): 431 past it.
    max_header_bytes: int = 16_384
    # Addresses or networks of the proxies whose X-Forwarded-For/-Proto are believed; none by
    # default, so no client can choose the address that login throttling counts it under.
    trusted_proxies: tuple[str, ...] = ()
    token_issuer: str = "orderly"
    token_audience: str = "orderly-api"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    # An external OpenID Connect issuer whose tokens the gateway trusts instead of its own.
    external_issuer: str = ""
    external_jwks_url: str = ""
    external_audience: str = ""
    external_roles_claim: str = "roles"
    external_role_map: str = ""
    external_account_claim: str = "account"
    external_algorithms: tuple[str, ...] = ("RS256", "ES256")
    external_trust_mfa: bool = False
    # Traces (docs/observability.md): `off`, `console` (one JSON line per span on stdout, for
    # development) or `otlp` (OTLP over HTTP to `otlp_endpoint`; empty: OpenTelemetry's own
    # default, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or http://localhost:4318/v1/traces).
    tracing: str = "off"
    otlp_endpoint: str = ""
    # The share of the traces begun in this process (requests without a `traceparent`) that
    # are recorded: 1 records every one; the rest cost almost nothing (docs/observability.md).
    tracing_sample: float = 1.0
    host: str = "127.0.0.1"
    port: int = 8000
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite") and not self.broker_url

    @property
    def service_name(self) -> str:
        """The process as its traces name it: `orderly` when it serves every context, else
        after what it serves (`orderly-ordering`, `orderly-bff-web`)."""
        if set(self.contexts) == set(ALL_CONTEXTS):
            return "orderly"
        return "orderly-" + "+".join((*self.contexts, *self.bffs))

    def validate(self) -> "Settings":
        scheme = urlsplit(self.database_url).scheme
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ConfigError(
                f"ORDERLY_DATABASE_URL: unsupported scheme {scheme!r} (use sqlite:/// or postgresql://)"
            )
        if self.broker_url and urlsplit(self.broker_url).scheme not in {"amqp", "amqps"}:
            raise ConfigError("ORDERLY_BROKER_URL: unsupported scheme (use amqp:// or leave unset)")
        unknown = set(self.contexts) - set(ALL_CONTEXTS)
        if unknown:
            raise ConfigError(f"ORDERLY_CONTEXTS: unknown context(s) {', '.join(sorted(unknown))}")
        if (
            "ordering" in self.contexts
            and "inventory" not in self.contexts
            and not self.inventory_url
        ):
            raise ConfigError(
                "ORDERLY_INVENTORY_URL is required when ordering runs without inventory"
            )
        if "ordering" in self.contexts and "pricing" not in self.contexts and not self.pricing_url:
            raise ConfigError("ORDERLY_PRICING_URL is required when ordering runs without pricing")
        if "identity" not in self.contexts and not self.identity_url:
            raise ConfigError("ORDERLY_IDENTITY_URL is required when identity runs elsewhere")
        self._validate_bffs()
        if self.external_issuer:
            self._validate_external()
        if not 1 <= self.soft_reservation_ttl <= 7 * 24 * 3600:
            raise ConfigError("ORDERLY_SOFT_RESERVATION_TTL: seconds, from 1 to a week")
        if not 1 <= self.order_hold_ttl <= 7 * 24 * 3600:
            raise ConfigError("ORDERLY_ORDER_HOLD_TTL: seconds, from 1 to a week")
        if self.inventory_url and "ordering" in self.contexts and len(self.service_key) < 32:
            raise ConfigError(
                "ORDERLY_SERVICE_KEY (at least 32 characters, the same for every service) is"
                " required when ordering calls inventory over HTTP"
            )
        self._validate_holds()
        self._validate_channels()
        if self.saga_step_timeout <= 0 or self.saga_step_retries < 0:
            raise ConfigError("ORDERLY_SAGA_STEP_TIMEOUT must be positive, retries at least 0")
        if self.checkout_wait < 0 or self.breaker_threshold < 1 or self.breaker_ttl <= 0:
            raise ConfigError(
                "ORDERLY_CHECKOUT_WAIT must be at least 0, ORDERLY_BREAKER_THRESHOLD at least 1"
                " and ORDERLY_BREAKER_TTL positive"
            )
        if min(self.retention_orders_days, self.retention_events_days) < 1 or (
            self.retention_mails_days < 0 or self.retention_interval < 0
        ):
            raise ConfigError(
                "ORDERLY_RETENTION_ORDERS_DAYS and _EVENTS_DAYS must be at least 1,"
                " _MAILS_DAYS and ORDERLY_RETENTION_INTERVAL at least 0"
            )
        if self.message_retention < 1 or self.prune_interval <= 0:
            raise ConfigError(
                "ORDERLY_MESSAGE_RETENTION must be at least 1 s and ORDERLY_PRUNE_INTERVAL positive"
            )
        if self.password_hash_memory < 8192 or self.password_hash_passes < 1:
            raise ConfigError(
                "ORDERLY_PASSWORD_HASH_MEMORY must be at least 8192 (KiB) and"
                " ORDERLY_PASSWORD_HASH_PASSES at least 1"
            )
        if not 1 <= self.database_pool_size <= 1000:
            raise ConfigError("ORDERLY_DATABASE_POOL_SIZE: connections, from 1 to 1000")
        if self.retry_max_attempts < 1:
            raise ConfigError("ORDERLY_RETRY_MAX_ATTEMPTS must be at least 1")
        if self.registration_limit < 1 or not 1 <= self.registration_window <= 24 * 3600:
            raise ConfigError(
                "ORDERLY_REGISTRATION_LIMIT must be at least 1 and ORDERLY_REGISTRATION_WINDOW"
                " from 1 s to a day"
            )
        if self.approval_timeout <= 0 or self.hold_timeout <= 0:
            raise ConfigError("ORDERLY_APPROVAL_TIMEOUT and ORDERLY_HOLD_TIMEOUT must be positive")
        if urlsplit(self.erp_url).scheme not in {"http", "https"} or self.erp_timeout <= 0:
            raise ConfigError("ORDERLY_ERP_URL: an http(s) URL; ORDERLY_ERP_TIMEOUT positive")
        gateway = self.payment_gateway_url
        if gateway and urlsplit(gateway).scheme not in {"http", "https"}:
            raise ConfigError("ORDERLY_PAYMENT_GATEWAY_URL: an http(s) URL, or empty")
        if self.payment_gateway_timeout <= 0:
            raise ConfigError("ORDERLY_PAYMENT_GATEWAY_TIMEOUT: seconds, positive")
        if self.erp_retries < 0 or self.mail_retries < 0:
            raise ConfigError("ORDERLY_ERP_RETRIES and ORDERLY_MAIL_RETRIES: at least 0")
        if self.short_pick not in ("backorder", "cancel_line", "cancel"):
            raise ConfigError("ORDERLY_SHORT_PICK must be backorder or cancel_line")
        if self.backorder_release not in ("auto", "manual"):
            raise ConfigError("ORDERLY_BACKORDER_RELEASE must be auto or manual")
        if self.wave_max_lines < 1 or self.wave_max_units < 1:
            raise ConfigError(
                "ORDERLY_WAVE_MAX_LINES and ORDERLY_WAVE_MAX_UNITS must be at least 1"
            )
        if min(self.floor_wait, self.ship_wait, self.delivery_wait) <= 0:
            raise ConfigError("the fulfillment waits must be positive")
        try:
            hour, minute = (int(part) for part in self.carrier_cutoff.split(":"))
            valid = 0 <= hour < 24 and 0 <= minute < 60
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError("ORDERLY_CARRIER_CUTOFF must be a time of day, HH:MM")
        if not 1 <= self.erp_concurrency <= 10_000:
            raise ConfigError("ORDERLY_ERP_CONCURRENCY: from 1 to 10000")
        if self.smtp_url and urlsplit(self.smtp_url).scheme not in {"smtp", "smtps"}:
            raise ConfigError("ORDERLY_SMTP_URL: smtp://host:port or smtps://host:port")
        if self.cache_url not in ("", "off") and urlsplit(self.cache_url).scheme not in {
            "redis",
            "rediss",
            "unix",
        }:
            raise ConfigError("ORDERLY_CACHE_URL: redis://host:port/db, empty or off")
        if self.cache_ttl <= 0 or self.cache_size < 1:
            raise ConfigError("ORDERLY_CACHE_TTL must be positive, ORDERLY_CACHE_SIZE at least 1")
        if not 0 <= self.page_cache_ttl <= self.cache_ttl:
            raise ConfigError("ORDERLY_PAGE_CACHE_TTL: seconds, from 0 to ORDERLY_CACHE_TTL")
        self._validate_edge()
        self._validate_tracing()
        return self

    def _validate_tracing(self) -> None:
        if self.tracing not in ("off", "console", "otlp"):
            raise ConfigError("ORDERLY_TRACING must be off, console or otlp")
        if self.otlp_endpoint and urlsplit(self.otlp_endpoint).scheme not in {"http", "https"}:
            raise ConfigError("ORDERLY_OTLP_ENDPOINT: an http(s) URL, or empty")
        if not 0 <= self.tracing_sample <= 1:
            raise ConfigError("ORDERLY_TRACING_SAMPLE: a share, from 0 to 1")

    def hold_limits(self) -> dict[str, int]:
        """`ORDERLY_SOFT_HOLD_LIMITS` as {segment: units}."""
        limits = {}
        for item in self.soft_hold_limits:
            segment, _, units = item.partition(":")
            limits[segment.strip()] = int(units)
        return limits

    def _validate_holds(self) -> None:
        try:
            limits = self.hold_limits()
        except ValueError:
            limits = {"": -1}
        if self.soft_hold_limit < 0 or any(n < 0 or not s for s, n in limits.items()):
            raise ConfigError(
                "ORDERLY_SOFT_HOLD_LIMIT: units, at least 0; ORDERLY_SOFT_HOLD_LIMITS:"
                " segment:units, comma-separated"
            )
        if not 1 <= self.soft_hold_max_age <= 7 * 24 * 3600:
            raise ConfigError("ORDERLY_SOFT_HOLD_MAX_AGE: seconds, from 1 to a week")

    def _validate_edge(self) -> None:
        if not 1024 <= self.max_header_bytes <= 1_048_576:
            raise ConfigError("ORDERLY_MAX_HEADER_BYTES: from 1024 to 1048576")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"ORDERLY_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from None

    def _validate_channels(self) -> None:
        for name, chosen in (
            ("ORDERLY_DEFAULT_CHANNEL", (self.default_channel,)),
            ("ORDERLY_CHANNELS", self.channels),
            ("ORDERLY_ACCOUNT_CHANNELS", self.account_channels),
        ):
            unknown = set(chosen) - set(CHANNELS)
            if unknown:
                raise ConfigError(
                    f"{name}: unknown channel(s) {', '.join(sorted(unknown))}"
                    f" (choose from {', '.join(CHANNELS)})"
                )
            missing = set(chosen) - set(AVAILABLE_CHANNELS)
            if missing:
                raise ConfigError(
                    f"{name}: the {', '.join(sorted(missing))} checkout is not available in"
                    f" this version (available: {', '.join(AVAILABLE_CHANNELS)})"
                )
        if not self.account_channels:
            raise ConfigError("ORDERLY_ACCOUNT_CHANNELS: at least one channel")
        if self.default_channel not in set(self.channels) | set(self.account_channels):
            raise ConfigError("ORDERLY_DEFAULT_CHANNEL must be one of the allowed channels")

    def bff_urls(self) -> dict[str, str]:
        """The base URL of each context a BFF calls."""
        return {name: getattr(self, f"{name}_url") for name in BFF_CONTEXTS}

    def _validate_bffs(self) -> None:
        unknown = set(self.bffs) - set(BFFS)
        if unknown:
            raise ConfigError(f"ORDERLY_CONTEXTS: unknown BFF(s) {', '.join(sorted(unknown))}")
        if not self.contexts and not self.bffs:
            raise ConfigError("ORDERLY_CONTEXTS: name at least one context or BFF")
        if self.bffs and not set(BFF_CONTEXTS) <= set(self.contexts):
            missing = [f"ORDERLY_{n.upper()}_URL" for n, url in self.bff_urls().items() if not url]
            if missing:
                raise ConfigError(
                    f"{', '.join(missing)}: required when a BFF runs without every context"
                )
        if self.bff_timeout <= 0 or self.bff_command_timeout <= 0:
            raise ConfigError("ORDERLY_BFF_TIMEOUT and ORDERLY_BFF_COMMAND_TIMEOUT: positive")

    def _validate_external(self) -> None:
        for name, url in (
            ("ORDERLY_EXTERNAL_ISSUER", self.external_issuer),
            ("ORDERLY_EXTERNAL_JWKS_URL", self.external_jwks_url),
        ):
            if url and urlsplit(url).scheme not in {"https", "http"}:
                raise ConfigError(f"{name}: an http(s) URL")
        weak = set(self.external_algorithms) - ASYMMETRIC_ALGORITHMS
        if weak or not self.external_algorithms:
            raise ConfigError(
                "ORDERLY_EXTERNAL_ALGORITHMS: public-key algorithms only"
                f" ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        pairs = [item for item in self.external_role_map.split(",") if item.strip()]
        if any(":" not in pair for pair in pairs):
            raise ConfigError("ORDERLY_EXTERNAL_ROLE_MAP: idp-role:orderly-role, comma-separated")


def _coerce(kind: Any, raw: Any) -> Any:
    if kind is bool or kind == "bool":
        return (
            raw if isinstance(raw, bool) else str(raw).strip().lower() in {"1", "true", "yes", "on"}
        )
    if kind is int or kind == "int":
        return int(raw)
    if kind is float or kind == "float":
        return float(raw)
    if "tuple" in str(kind):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return tuple(item.strip() for item in items if item.strip())
    return str(raw)


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then the config file, then the environment, then `overrides`."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    config_file = env.get("ORDERLY_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"ORDERLY_CONFIG: no such file {config_file}")
        values.update(tomllib.loads(path.read_text()).get("orderly", {}))
    for spec in fields(Settings):
        key = f"ORDERLY_{spec.name.upper()}"
        if key in env:
            values[spec.name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    kinds = {spec.name: spec.type for spec in fields(Settings)}
    try:
        typed = {name: _coerce(kinds[name], raw) for name, raw in values.items() if name in kinds}
    except ValueError as error:
        raise ConfigError(f"bad setting: {error}") from None
    if "contexts" in typed:  # the BFFs named among them are served as BFFs
        named = typed["contexts"]
        typed["contexts"] = tuple(name for name in named if name not in BFFS)
        typed.setdefault("bffs", tuple(name for name in named if name in BFFS))
    return Settings(**typed).validate()


def redact(url: str) -> str:
    """A URL fit for logs and error messages: no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
