"""One run of the suite: a cluster of its own, a mixed load with faults drawn from the seed,
quiescence, then the invariants; the table and `chaos/results/latest.json`."""

import asyncio
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from chaos import invariants, schedule
from chaos.deployment import Deployment, deployed, healthy, status
from chaos.inject import Injector
from chaos.load import Cast, Load
from orderly.bootstrap import topology
from orderly.config import load_settings
from orderly.demo import DEMO_CUSTOMER, DEMO_OPERATOR, DEMO_PASSWORD, DEMO_PHARMACIST
from orderly.entrypoints.cluster.status import waiting as queued

PEOPLE = {"on_hold", "awaiting_approval"}
WAITING = {"pending", *PEOPLE}
PRODUCTS = 8
STOCK = 5000  # each product's, received as one lot when it is made


@dataclass(frozen=True)
class Options:
    seed: int
    mode: str  # faults, redeliver, crash, or all of them at once
    duration: float  # seconds of load
    concurrency: int
    home: Path
    settle_within: float = 240.0  # seconds for the cluster to become quiet after the load
    keep: bool = False  # leave the database (and `home`, with the processes' logs) behind


async def run(options: Options, say: Any = print) -> dict[str, Any]:
    started = time.time()
    log: list[str] = []
    async with deployed(options.home, options.mode, options.seed, keep=options.keep) as deployment:
        say(f"cluster up: {len(deployment.cluster.processes)} processes ({options.mode} mode)")
        cast = await _cast(deployment)
        faults = (
            schedule.draw(options.seed, options.duration, deployment.orderly_processes)
            if options.mode in {"faults", "all"}
            else []
        )
        for fault in faults:
            say(f"  planned {fault.describe()}")
        load = Load(deployment, cast, options.seed)
        injector = Injector(deployment, log)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            playing = asyncio.create_task(injector.play(faults, began, stop))
            loading = asyncio.create_task(load.run(options.concurrency, stop))
            await asyncio.sleep(options.duration)  # the load's length is the run's setting
            stop.set()
            await asyncio.gather(playing, loading)
        finally:
            await injector.heal_all()
            await load.close()
        loaded = loop.time() - began
        say(f"load over after {loaded:.0f} s: {len(load.attempts)} orders attempted")
        not_ready = await healthy(deployment, within=120)
        quiet_after = await _quiet(deployment, options.settle_within)
        say(f"quiet after {quiet_after:.0f} s" if quiet_after >= 0 else "never quiet")
        seen = await _seen(deployment)
        checks = await invariants.check_all(
            deployment.database_url,
            topology(load_settings(deployment.cluster.shared)),
            load.attempts,
            cast.stock,
            seen,
        )
        statuses = await _statuses(deployment)
        duplicates = await _duplicates_dropped(deployment, cast.ops)
        shown = await status(deployment)
        exits = _exits(deployment)
    accepted = [a for a in load.attempts if a.outcome == "accepted"]
    result: dict[str, Any] = {
        "seed": options.seed,
        "mode": options.mode,
        "load_seconds": round(loaded, 1),
        "concurrency": options.concurrency,
        "orders": {
            "attempted": len(load.attempts),
            "accepted": len(accepted),
            "refused": sum(a.outcome == "refused" for a in load.attempts),
            "unanswered": sum(a.outcome == "unknown" for a in load.attempts),
            "terminal": sum(n for status, n in statuses.items() if status not in WAITING),
            # waiting on a person: an analyst's hold, an approver
            "held": sum(n for status, n in statuses.items() if status in PEOPLE),
            "by_status": statuses,
            "by_kind": _by_kind(load.attempts),
            "slowest": _slowest(load.attempts),
            "followups": dict(load.followups),
        },
        "faults": {
            "injected": dict(injector.injected),
            "not_injected": dict(injector.failed),
            "schedule": [asdict(fault) for fault in faults],
        },
        # how processes ended, from supervisord's log: killed (SIGKILL), or crashed at a
        # crash point (exit status 137)
        "process_exits": exits,
        # deliveries each inbox recognised as already handled (since each process's last start)
        "duplicates_dropped": duplicates,
        "not_ready_after_load": not_ready,
        "cluster_status": shown,
        # the processes the cluster's plan names, each of which status must show running
        "planned_processes": len(deployment.cluster.processes),
        "quiet_after_seconds": round(quiet_after, 1),
        "invariants": [
            {
                "name": check.name,
                "says": check.says,
                "violations": len(check.violations),
                "examples": check.violations[:5],
            }
            for check in checks
        ],
        "seconds": 0.0,
        "log": log,
    }
    result["cluster_down"] = deployment.down
    result["seconds"] = round(time.time() - started, 1)
    result["passed"] = (
        all(not check.violations for check in checks)
        and shown["exit_status"] == 0
        and shown["ready"]
        == shown["running"]
        == shown["processes"]
        == len(deployment.cluster.processes)
        and bool(deployment.down.get("succeeded"))
        and not deployment.down.get("left_running")
        and quiet_after >= 0
        and not not_ready
        and not injector.failed
        and len(accepted) > 0
    )
    return result


async def _answer(
    call: Callable[[], Awaitable[httpx.Response]], *, within: float = 60
) -> httpx.Response:
    """`call`'s answer once it is not a dropped connection or a 5xx: in crash mode a process
    may die under a setup call as under any other. A call that makes something must be safe
    to make twice (a product is made under a new SKU each time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            answer = await call()
        except httpx.HTTPError:
            if loop.time() > deadline:
                raise
        else:
            if answer.status_code < 500 or loop.time() > deadline:
                return answer
        await asyncio.sleep(0.5)  # a pause before trying again, bounded by the deadline


async def _cast(deployment: Deployment) -> Cast:
    identity = deployment.url("identity")
    async with httpx.AsyncClient(timeout=30) as http:

        async def login(email: str) -> dict[str, Any]:
            body = {"email": email, "password": DEMO_PASSWORD}
            answer = await _answer(lambda: http.post(f"{identity}/api/v1/auth/login", json=body))
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            return found

        ops = (await login(DEMO_OPERATOR))["token"]
        customer = (await login(DEMO_CUSTOMER))["token"]
        cast = Cast(ops, customer, await _pharmacist(deployment, http, login))
        headers = {"Authorization": f"Bearer {ops}"}
        catalog = f"{deployment.url('catalog')}/api/v1/products"
        for n in range(PRODUCTS + 1):
            controlled = n == PRODUCTS  # the last: a schedule IV product, for held orders

            def make(n: int = n, controlled: bool = controlled) -> Awaitable[httpx.Response]:
                body: dict[str, Any] = {
                    "name": "Alprazolam 1 mg" if controlled else f"Chaos product {n}",
                    "sku": f"CHAOS-{uuid.uuid4().hex[:12].upper()}",
                    "price": f"{5 + n}.00",
                    "description": "fault-injection suite",
                    "stock": STOCK,
                }
                if controlled:
                    body |= {"pack_size": "100 TABLET in 1 BOTTLE", "dea_schedule": "CIV"}
                return http.post(catalog, json=body, headers=headers)

            made = await _answer(make)
            made.raise_for_status()
            product = str(made.json()["id"])
            cast.stock[product] = STOCK
            if controlled:
                cast.controlled = product
            else:
                cast.products.append(product)
        await _known_to_compliance(deployment, http, headers, cast.controlled)
    return cast


async def _pharmacist(
    deployment: Deployment,
    http: httpx.AsyncClient,
    login: Callable[[str], Awaitable[dict[str, Any]]],
) -> str:
    """The demo pharmacist's token: a password, then the authenticator's code (each code
    works once: a sign-in whose answer was lost starts again)."""
    for _ in range(3):
        challenge = await login(DEMO_PHARMACIST)
        code = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "orderly", "demo", "mfa-code"],
            env=deployment.env,
            capture_output=True,
            text=True,
        )
        try:
            verified = await http.post(
                f"{deployment.url('identity')}/api/v1/auth/mfa/verify",
                json={"mfaToken": challenge["mfaToken"], "code": code.stdout.strip()},
            )
        except httpx.HTTPError:
            continue
        if verified.status_code == 200:
            return str(verified.json()["token"])
    raise RuntimeError("the demo pharmacist could not sign in")


async def _known_to_compliance(
    deployment: Deployment, http: httpx.AsyncClient, headers: dict[str, str], product: str
) -> None:
    """Compliance copies a product from catalog's product.created: wait for the copy."""
    known = f"{deployment.url('compliance')}/api/v1/compliance/products/{product}"
    answer = await _answer(lambda: http.get(known, headers=headers))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while answer.status_code != 200:
        if loop.time() > deadline:
            raise RuntimeError("compliance did not hear of the controlled product in 60 s")
        await asyncio.sleep(0.2)  # a poll for the copy, bounded by the deadline
        answer = await _answer(lambda: http.get(known, headers=headers))


async def _counts(deployment: Deployment) -> dict[str, int]:
    """What is still moving: unpublished events, retries due, messages queued, sagas and
    orders not settled."""
    connection = await asyncpg.connect(deployment.database_url)
    try:
        counts: dict[str, int] = {"unpublished": 0, "retries": 0}
        schemas = await connection.fetch(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
        )
        for row in schemas:
            schema = row["table_schema"]
            counts["unpublished"] += await connection.fetchval(
                f'SELECT COUNT(*) FROM "{schema}".outbox WHERE published_at IS NULL'
            )
            counts["retries"] += await connection.fetchval(
                f'SELECT COUNT(*) FROM "{schema}".message_retries'
            )
        # a saga waiting on a person (an analyst's hold, an approver) is quiet
        counts["sagas"] = await connection.fetchval(
            "SELECT COUNT(*) FROM ordering.sagas s JOIN ordering.orders o ON o.id = s.id"
            " WHERE s.state IN ('running', 'compensating')"
            " AND o.status NOT IN ('on_hold', 'awaiting_approval')"
        )
        counts["pending"] = await connection.fetchval(
            "SELECT COUNT(*) FROM ordering.orders WHERE status = 'pending'"
        )
    finally:
        await connection.close()
    counts["queued"] = sum((await queued(deployment.cluster)).values())
    return counts


async def _quiet(deployment: Deployment, within: float) -> float:
    """Seconds until nothing moves any more (-1: not within `within`)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        try:
            counts = await _counts(deployment)
        except (OSError, asyncpg.PostgresError):
            counts = {"unreachable": 1}
        if not any(counts.values()):
            return loop.time() - began
        if loop.time() - began > within:
            return -1.0
        await asyncio.sleep(1)  # a poll of the counts, bounded by `within`


async def _seen(deployment: Deployment) -> invariants.Seen:
    async with httpx.AsyncClient(timeout=30) as http:
        movements = (await http.get(deployment.url("payments-sim") + "/sim/movements")).json()
        sales = (await http.get(deployment.url("erp-sim") + "/sim/sales-orders")).json()
    ids = [str(mail.message["Message-ID"]) for mail in deployment.smtp.received]
    return invariants.Seen(movements["movements"], sales, ids)


async def _statuses(deployment: Deployment) -> dict[str, int]:
    connection = await asyncpg.connect(deployment.database_url)
    try:
        rows = await connection.fetch(
            "SELECT status, COUNT(*) AS n FROM ordering.orders"
            " WHERE shipping_address::jsonb->>'line2' LIKE 'chaos:%' GROUP BY status"
        )
    finally:
        await connection.close()
    return {row["status"]: int(row["n"]) for row in rows}


def _exits(deployment: Deployment) -> dict[str, int]:
    log = deployment.cluster.home / "supervisord.log"
    text = log.read_text() if log.exists() else ""
    return {
        "killed": text.count("terminated by SIGKILL"),
        "crashed": text.count("exit status 137"),
    }


async def _duplicates_dropped(deployment: Deployment, operator: str) -> int:
    pattern = re.compile(
        r'^orderly_messages_consumed_total\{[^}]*outcome="duplicate"[^}]*\} (\S+)$'
    )
    total = 0.0
    headers = {"Authorization": f"Bearer {operator}"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as http:
        for name in deployment.orderly_processes:
            try:
                text = (await http.get(deployment.url(name) + "/metrics")).text
            except httpx.HTTPError:
                continue
            for line in text.splitlines():
                if found := pattern.match(line):
                    total += float(found.group(1))
    return int(total)


def _by_kind(attempts: list[Any]) -> dict[str, dict[str, float]]:
    kinds: dict[str, dict[str, float]] = {}
    for attempt in attempts:
        counts = kinds.setdefault(
            attempt.kind, {"attempted": 0, "accepted": 0, "seconds_max": 0.0, "seconds": 0.0}
        )
        counts["attempted"] += 1
        counts["accepted"] += attempt.outcome == "accepted"
        counts["seconds"] += attempt.seconds
        counts["seconds_max"] = round(max(counts["seconds_max"], attempt.seconds), 1)
    for counts in kinds.values():
        counts["seconds"] = round(counts["seconds"] / counts["attempted"], 1)  # the mean
    return kinds


def _slowest(attempts: list[Any]) -> dict[str, dict[str, Any]]:
    """Each kind's slowest attempt and the tries its placing took: where a long one waited
    (a key still in use, a process restarting, a call that timed out)."""
    slowest: dict[str, Any] = {}
    for attempt in attempts:
        kept = slowest.get(attempt.kind)
        if kept is None or attempt.seconds > kept.seconds:
            slowest[attempt.kind] = attempt
    return {
        kind: {"seconds": round(a.seconds, 1), "outcome": a.outcome, "tries": a.tries_made}
        for kind, a in sorted(slowest.items())
    }
