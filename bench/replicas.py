"""Distributed B2C checkouts with one and with two processes for each context that consumes
in the checkout, and how long an event takes from its commit to each consumer having handled
it (the outbox row's `created_at` to the inbox row's `processed_at`, the same machine's clock),
while checkouts come at half the rate the deployment can take.

Each consumer's queue has a single active consumer (messages of an aggregate in order), so a
second process of a context serves its HTTP routes and stands by for its queues; it does not
consume beside the first. The figures show what that costs and gains on this machine.
"""

import statistics
import tempfile
from datetime import datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bench import checkout, profile
from tests.conftest import Backend
from tests.e2e.conftest import deploy
from tests.e2e.server import Server
from tests.services import AMQP_URL, create_pg_database, drop_pg_database, unique

# the contexts whose consumers a B2C checkout goes through
CONSUMING = ("ordering", "inventory", "payments", "fulfillment")


async def run(
    n: int, processes: int
) -> tuple[checkout.Checkouts, list[float], dict[str, dict[str, float]]]:
    """The checkouts with `processes` per consuming context; each event's seconds from its
    commit to each of its consumers' handling it, while checkouts came at half the rate; and
    each process's CPU, round trips and messages per checkout."""
    url = await create_pg_database()
    namespace = unique("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backend = Backend("distributed", url, AMQP_URL, namespace)
            deployed = deploy(
                backend, Path(tmp), ORDERLY_LOG_LEVEL="WARNING", **checkout.BENCH_POOL
            )
            more = [
                Server(dict(getattr(deployed, name).env), Path(tmp), contexts=name, relay=False)
                for name in CONSUMING
                for _ in range(processes - 1)
            ]
            try:
                for server in more:
                    server.start()
                for server in more:
                    server.wait_ready()
                target = checkout._orderly(deployed)
                sales = tuple(s.url for s in more if s.env["ORDERLY_CONTEXTS"] == "ordering")
                target = checkout.Target(
                    target.sales_url,
                    target.catalog_url,
                    target.customer_token,
                    target.operator_token,
                    sales,
                )
                named = {
                    f"{server.env['ORDERLY_CONTEXTS']}-{server.port}": server.url
                    for server in [*deployed.servers, *more]
                }
                before = await profile.snapshot(named, target.operator_token)
                result = await checkout._run(target, n)
                after = await profile.snapshot(named, target.operator_token)
                costs = profile.per_checkout(before, after)
                paced = datetime.fromtimestamp(result.paced_from).astimezone()
                latencies = await outbox_to_inbox(url, paced)
            finally:
                for server in [*more, *deployed.servers]:
                    server.stop()
    finally:
        await drop_pg_database(url)
        from orderly.bootstrap import topology
        from orderly.config import Settings
        from orderly.messaging.transports.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, namespace, topology(Settings()))
    return result, latencies, costs


async def outbox_to_inbox(url: str, since: datetime) -> list[float]:
    """For every event committed since `since` and every consumer that handled it: seconds
    from the commit that wrote it to the commit that handled it."""
    connection = await asyncpg.connect(url)
    try:
        schemas = [
            row["table_schema"]
            for row in await connection.fetch(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
            )
        ]
        outboxes = " UNION ALL ".join(
            f'SELECT message_id, created_at FROM "{s}".outbox WHERE created_at >= $1'
            for s in schemas
        )
        inboxes = " UNION ALL ".join(
            f'SELECT message_id, processed_at FROM "{s}".inbox' for s in schemas
        )
        rows = await connection.fetch(
            f"SELECT EXTRACT(EPOCH FROM i.processed_at - o.created_at) AS took"
            f" FROM ({outboxes}) o JOIN ({inboxes}) i USING (message_id)",
            since,
        )
    finally:
        await connection.close()
    return [float(row["took"]) for row in rows]


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile of `values`, in milliseconds."""
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000
