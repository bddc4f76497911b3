"""`make bench`: Orderly's throughput next to a peer and the raw limit, measured in one run.

Every figure goes to bench/results/latest.json as {name, value, unit, compared_to, reference,
ratio}. The machines are shared and noisy: read the ratios, not the absolute numbers.
"""

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import (
    b2b,
    bff,
    cache,
    checkout,
    http,
    inventory,
    kernel,
    profile,
    raw,
    replicas,
    search,
    tokens,
    tracing,
    warehouse,
    web,
)
from tests.contract.test_cache import redis_up
from tests.services import PG_ADMIN_URL, broker_up, postgres_up

RESULTS = Path(__file__).parent / "results" / "latest.json"
PROFILE = Path(__file__).parent / "results" / "checkout-profile.json"
ROUNDS = 3


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        against: str,
        reference: float,
        *,
        kind: str = "limit",
    ) -> None:
        """One figure beside `reference`: the raw `limit` of the layer beneath, or a `peer`."""
        ratio = value / reference if reference else 0.0
        self.rows.append(
            {
                "name": name,
                "value": round(value, 1),
                "unit": unit,
                kind: {"name": against, "value": round(reference, 1)},
                "ratio": round(ratio, 3),
            }
        )
        print(
            f"  {name:<40} {value:>9,.0f} {unit:<9} vs {kind} {against:<46}"
            f" {reference:>9,.0f}  ratio {ratio:5.2f}",
            flush=True,
        )


async def main() -> int:
    messages = int(os.environ.get("BENCH_MESSAGES", "20000"))
    orders = int(os.environ.get("BENCH_ORDERS", "2000"))
    report = Report()
    services = postgres_up() and broker_up()

    print("messaging kernel: outbox -> transport -> inbox, full durability", flush=True)
    sqlite_limit = raw.sqlite_commits(3000)
    grouped = raw.sqlite_grouped_commits(messages)
    embedded = await kernel.throughput("sqlite", "", messages)
    report.add(
        "kernel sqlite+in-process",
        embedded,
        "msg/s",
        "sqlite3, 1 commit per tx, sync=FULL",
        sqlite_limit,
    )
    report.add(
        "kernel sqlite+in-process",
        embedded,
        "msg/s",
        "sqlite3, 500 rows per commit, sync=FULL",
        grouped,
    )
    if services:
        amqp_limit = await raw.aio_pika_round_trip(messages // 2)
        pg_limit = await raw.asyncpg_commits(5000, concurrency=32)
        distributed = await kernel.throughput("postgresql", raw.AMQP_URL, messages // 2)
        report.add(
            "kernel postgres+rabbitmq",
            distributed,
            "msg/s",
            "aio-pika publish (confirms) + consume",
            amqp_limit,
        )
        report.add(
            "kernel postgres+rabbitmq",
            distributed,
            "msg/s",
            "asyncpg, 1 commit per tx, 32 concurrent",
            pg_limit,
        )
    else:
        print("  (PostgreSQL or RabbitMQ not running: distributed figures skipped)")

    print("inventory: 32 callers over 50 products, each command its own transaction", flush=True)
    reservations_n = int(os.environ.get("BENCH_RESERVATIONS", "4000"))
    reads, reserved = await inventory.sqlite(reservations_n)
    report.add(
        "ATP reads, SQLite", reads, "reads/s", "sqlite3, 1 commit per tx, sync=FULL", sqlite_limit
    )
    report.add(
        "reservations, SQLite",
        reserved,
        "res/s",
        "sqlite3, 1 commit per tx, sync=FULL",
        sqlite_limit,
    )
    if services:
        # Measured again next to the figures it is compared with (the kernel run above leaves
        # PostgreSQL checkpointing and vacuuming for a while), in interleaved rounds, best of
        # each: the machine's noise hits both alike.
        pg_limit = reads = reserved = 0.0
        for _ in range(ROUNDS):
            pg_limit = max(pg_limit, await raw.asyncpg_commits(5000, concurrency=32))
            round_reads, round_reserved = await inventory.postgres(reservations_n)
            reads, reserved = max(reads, round_reads), max(reserved, round_reserved)
        report.add(
            "ATP reads, PostgreSQL",
            reads,
            "reads/s",
            "asyncpg, 1 commit per tx, 32 concurrent",
            pg_limit,
        )
        report.add(
            "reservations, PostgreSQL",
            reserved,
            "res/s",
            "asyncpg, 1 commit per tx, 32 concurrent",
            pg_limit,
        )

    print("seed 001 end to end over HTTP (order accepted -> shipment created)", flush=True)
    flow, health, authenticated = await http.seed001_orders(orders)
    report.add(
        "seed 001 orders, embedded, 32 clients",
        flow,
        "orders/s",
        "GET /health on the same server",
        health,
    )
    held, unheld = await http.seed001_before_after(orders)
    report.add(
        "seed 001 orders, stock held before the 201",
        held,
        "orders/s",
        f"the same, availability checked only ({http.BEFORE_HOLDS})",
        unheld,
        kind="peer",
    )

    await _checkouts(report, services)
    await _tracing(report, services)
    if services:
        await _replicas(report)
    await _b2b_checkouts(report, services)
    await _warehouse(report, services)
    await _bff(report, services)
    await _cache(report, services)
    await _web(report)

    print("catalog search on the FDA NDC directory (243,941 packages), one client", flush=True)
    found = search.latency()
    report.add(
        "search p50", found["search_p50"], "ms", "GET /health p50, same server", found["health_p50"]
    )
    report.add(
        "search p99", found["search_p99"], "ms", "GET /health p99, same server", found["health_p99"]
    )

    print("authentication", flush=True)
    verified, raw_decode = await tokens.verifications(5000)
    report.add(
        "token verifications, each token new",
        verified,
        "tokens/s",
        "PyJWT decode alone",
        raw_decode,
        kind="peer",
    )
    report.add(
        "authenticated no-op GET /api/v1/auth/session",
        authenticated,
        "req/s",
        "unauthenticated GET /health, same server",
        health,
    )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report.rows, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


async def _quiet(services: bool) -> None:
    """Start a measurement on a quiet disk: PostgreSQL's dirty pages written (`CHECKPOINT`)
    and the page cache flushed (`sync`), so that what one run wrote does not land in the
    next one's fsyncs. (Without it, Orderly's embedded B2B checkout, measured right after the
    distributed B2C runs, came out at 457/s against 569-624/s on its own.)"""
    if services:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=30)
        try:
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
    await asyncio.to_thread(os.sync)


async def _checkouts(report: Report, services: bool) -> None:
    """Seed 002's B2C checkout, request to paid, next to the same saga written with DBOS."""
    print("B2C checkouts, request -> paid, 32 clients; peer: the saga in DBOS", flush=True)
    n = int(os.environ.get("BENCH_CHECKOUTS", "2000"))
    peer_n = int(os.environ.get("BENCH_PEER_CHECKOUTS", "600"))
    modes = [("embedded", "sqlite", checkout.embedded)]
    if services:
        modes.append(("distributed", "postgresql", checkout.distributed))
    for mode, kind, run in modes:
        await _quiet(services)
        ours = await run(n)
        await _quiet(services)
        dbos = await checkout.peer(kind, peer_n)
        against = f"DBOS, same saga, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"
        report.add(f"B2C checkouts, {mode}", ours.rate, "chk/s", against, dbos.rate, kind="peer")
        at_peer_load = f"{against}, at half its own load"
        report.add(
            f"checkout p50 at half load, {mode}",
            ours.p50_ms,
            "ms",
            at_peer_load,
            dbos.p50_ms,
            kind="peer",
        )
        report.add(
            f"checkout p99 at half load, {mode}",
            ours.p99_ms,
            "ms",
            at_peer_load,
            dbos.p99_ms,
            kind="peer",
        )
        report.add(
            f"place-order p99 at half load, {mode}",
            ours.place_p99_ms,
            "ms",
            f"{against}, place-order p99",
            dbos.place_p99_ms,
            kind="peer",
        )


async def _tracing(report: Report, services: bool) -> None:
    """The B2C checkout with its spans exported over OTLP (every trace, and a sample), next
    to the same with tracing off, in turn, `BENCH_TRACING_ROUNDS` times, the median round
    reported (the issue's bar: tracing costs less than 15%)."""
    print("B2C checkouts, embedded, tracing on (OTLP) and off", flush=True)
    # 400 made a run of well under a second, where a checkpoint weighs as much as tracing
    n = int(os.environ.get("BENCH_TRACING_CHECKOUTS", "2000"))
    # single rounds spread from 0.79 to 0.95 in one evening: the median of five moves less
    # than that of three
    rounds = int(os.environ.get("BENCH_TRACING_ROUNDS", "5"))
    await _quiet(services)
    traced = await tracing.off_and_on(n, rounds=rounds)
    print(f"  ({traced.spans_per_checkout:.1f} spans exported per checkout)")
    off, on = traced.off, traced.on
    report.add("B2C checkouts, tracing on", on.rate, "chk/s", "tracing off", off.rate, kind="peer")
    report.add(
        f"B2C checkouts, {tracing.SAMPLED:.0%} of traces recorded",
        traced.sampled.rate,
        "chk/s",
        "tracing off",
        off.rate,
        kind="peer",
    )
    report.add(
        "checkout p50 at half load, tracing on",
        on.p50_ms,
        "ms",
        "tracing off, at half its own load",
        off.p50_ms,
        kind="peer",
    )


async def _replicas(report: Report) -> None:
    """The distributed B2C checkout with one and two processes per consuming context, and
    each event's time from its commit to its consumers' handling it."""
    print("B2C checkouts, distributed, 1 and 2 processes per consuming context", flush=True)
    n = int(os.environ.get("BENCH_CHECKOUTS", "2000"))
    await _quiet(True)
    one, one_lags, costs = await replicas.run(n, processes=1)
    print("  per checkout, each process (1 per consumer):")
    profile.show(costs)
    PROFILE.parent.mkdir(parents=True, exist_ok=True)
    PROFILE.write_text(json.dumps(costs, indent=2) + "\n")
    await _quiet(True)
    two, two_lags, _ = await replicas.run(n, processes=2)
    report.add(
        "B2C checkouts, 2 processes per consumer",
        two.rate,
        "chk/s",
        "the same, 1 process per consumer",
        one.rate,
        kind="peer",
    )
    raw_lags = await raw.aio_pika_latency(2000, rate=500)
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        limit = replicas.percentile(raw_lags, q)
        for processes, lags in ((1, one_lags), (2, two_lags)):
            report.add(
                f"outbox -> consumer {label}, {processes} per consumer",
                replicas.percentile(lags, q),
                "ms",
                f"aio-pika publish (confirm) -> consume {label}, 500/s",
                limit,
            )


B2B_ROUNDS = int(os.environ.get("BENCH_B2B_ROUNDS", "2"))


def _best(kept: list[b2b.Checkouts], new: list[b2b.Checkouts]) -> list[b2b.Checkouts]:
    """Per ERP latency, the faster of two runs."""
    if not kept:
        return new
    return [max(a, b, key=lambda run: run.rate) for a, b in zip(kept, new, strict=True)]


async def _b2b_checkouts(report: Report, services: bool) -> None:
    """Seed 000's B2B checkout, request to CONFIRMED, with the simulated ERP answering at once
    and 50 ms late, next to the same four steps written with DBOS."""
    print("B2B checkouts, request -> CONFIRMED, 32 clients; peer: the steps in DBOS", flush=True)
    n = int(os.environ.get("BENCH_B2B_ORDERS", "1500"))
    peer_n = int(os.environ.get("BENCH_B2B_PEER_ORDERS", "300"))
    modes = [("embedded", "sqlite", b2b.embedded)]
    if services:
        modes.append(("distributed", "postgresql", b2b.distributed))
    for mode, kind, run in modes:
        # Orderly and the peer in turn, each run on fresh servers, the best of each kept: the
        # host's noise (a third either way from one run to the next) hits both alike.
        ours: list[b2b.Checkouts] = []
        dbos: list[b2b.Checkouts] = []
        for _ in range(B2B_ROUNDS):
            await _quiet(services)
            ours = _best(ours, await run(n if mode == "embedded" else n // 3))
            await _quiet(services)
            dbos = _best(dbos, await b2b.peer(kind, peer_n))
        against = f"DBOS, same steps, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"
        for mine, theirs in zip(ours, dbos, strict=True):
            report.add(
                f"B2B checkouts, {mode}, ERP +{mine.latency_ms} ms",
                mine.rate,
                "chk/s",
                f"{against}, ERP +{theirs.latency_ms} ms",
                theirs.rate,
                kind="peer",
            )
        quick, late = ours[0], ours[-1]
        report.add(
            f"B2B checkouts, {mode}, ERP +{late.latency_ms} ms",
            late.rate,
            "chk/s",
            f"the same, ERP +{quick.latency_ms} ms (hidden if >= 0.8)",
            quick.rate,
            kind="peer",
        )
        report.add(
            f"B2B checkouts, {mode} DBOS, ERP +{dbos[-1].latency_ms} ms",
            dbos[-1].rate,
            "chk/s",
            f"the same, ERP +{dbos[0].latency_ms} ms",
            dbos[0].rate,
            kind="peer",
        )


async def _warehouse(report: Report, services: bool = False) -> None:
    """Seed 004's warehouse, embedded: shop orders from placement to delivery, the operators'
    actions made as soon as the floor shows them, and one wave of 1,000 orders released; next
    to SQLite's commit limit measured before and after (the best of the two)."""
    print("warehouse, embedded: placed -> waved, picked, packed, shipped, delivered", flush=True)
    n = int(os.environ.get("BENCH_WAREHOUSE_ORDERS", "800"))
    wave_n = int(os.environ.get("BENCH_WAVE_ORDERS", "1000"))
    limit = raw.sqlite_commits(3000)
    await _quiet(services)
    flow = await warehouse.flow(n)
    await _quiet(services)
    released = await warehouse.wave(wave_n)
    limit = max(limit, raw.sqlite_commits(3000))
    against = "sqlite3, 1 commit per tx, sync=FULL"
    report.add("warehouse, embedded, placed to delivered", flow.rate, "ord/s", against, limit)
    report.add(
        f"wave of {released.orders:,} released",
        released.orders / released.released_s,
        "ord/s",
        against,
        limit,
    )
    report.add(
        f"wave of {released.orders:,} released to pick tasks",
        released.orders / released.tasked_s,
        "ord/s",
        against,
        limit,
    )


async def _bff(report: Report, services: bool) -> None:
    """BFF-web's product page (GraphQL, by id and by NDC) and order details (REST), each next
    to the direct catalog call they build on, from the same 32 clients to the same servers."""
    print("BFF: product page and order details; reference: GET a product from catalog", flush=True)
    n = int(os.environ.get("BENCH_BFF_REQUESTS", "4000"))
    modes = [("embedded", bff.embedded)]
    if services:
        modes.append(("distributed", bff.distributed))
    for mode, run in modes:
        await _quiet(services)
        figures = await run(n)
        direct = figures.direct
        against = f"GET /api/v1/products/{{id}} to catalog, {mode}"  # the direct call
        measured = (
            ("GraphQL product page", figures.page, "q/s"),
            ("GraphQL product page by NDC", figures.page_by_ndc, "q/s"),
            ("GraphQL product page, never kept", figures.page_executed, "q/s"),
            ("REST order details", figures.details, "req/s"),
        )
        report.add(
            f"GraphQL product page hit rate, {mode}",
            figures.page_hit_rate * 100,
            "%",
            "every query a hit",
            100.0,
        )
        for name, figure, unit in measured:
            # the bar for the product page: half the direct call's rate (not asserted)
            report.add(f"{name}, {mode}", figure.rate, unit, against, direct.rate, kind="peer")
            report.add(
                f"{name} p99, {mode}",
                figure.p99_ms,
                "ms",
                f"{against}, p99",
                direct.p99_ms,
                kind="peer",
            )


async def _cache(report: Report, services: bool) -> None:
    """Order reads through the read cache, next to the same reads with the cache off (the
    cache in memory embedded, Redis distributed), and the cached reads' hit rate."""
    print("order reads: GET /api/v1/orders/{id}, cached and not", flush=True)
    n = int(os.environ.get("BENCH_CACHE_READS", "4000"))
    modes = [("embedded", cache.embedded)]
    if services and redis_up():
        modes.append(("distributed", cache.distributed))
    for mode, run in modes:
        await _quiet(services)
        figures = await run(n)
        against = f"the same reads, cache off, {mode}"
        cached, uncached = figures.cached, figures.uncached
        report.add(
            f"order reads, cached, {mode}",
            cached.rate,
            "req/s",
            against,
            uncached.rate,
            kind="peer",
        )
        report.add(
            f"order reads p99, cached, {mode}",
            cached.p99_ms,
            "ms",
            f"{against}, p99",
            uncached.p99_ms,
            kind="peer",
        )
        report.add(
            f"order reads hit rate, {mode}", figures.hit_rate * 100, "%", "every read a hit", 100.0
        )


async def _web(report: Report) -> None:
    """Seed 000's product page in a real browser: usable after how long, next to the app's
    own cost (the sign-in page) and to its data's (the GraphQL query alone)."""
    print("web app: the product page in Chromium, from navigation to usable", flush=True)
    missing = web.ready()
    if missing:
        print(f"  ({missing}: the web app's figures skipped)")
        return
    figures = await asyncio.to_thread(web.measure, int(os.environ.get("BENCH_WEB_LOADS", "30")))
    for which in ("median_ms", "p95_ms"):
        shown = which.removesuffix("_ms")
        page = getattr(figures.product_page, which)
        report.add(
            f"product page usable, {shown}",
            page,
            "ms",
            f"sign-in page usable (same scripts, no data), {shown}",
            getattr(figures.sign_in_page, which),
            kind="peer",
        )
        report.add(
            f"product page usable, {shown}",
            page,
            "ms",
            f"its GraphQL query alone, from the page, {shown}",
            getattr(figures.query_alone, which),
        )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
