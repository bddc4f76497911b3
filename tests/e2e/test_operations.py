"""Operators see and replay dead letters over HTTP and the CLI, and read the outbox."""

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderly.fulfillment.messages import SOURCE, OrderStatusUpdated
from orderly.messaging import emit, new_message
from orderly.storage import Tx, open_database
from tests import forkserver
from tests.e2e.server import Server, embedded
from tests.waiting import eventually

CONSUMER = "ordering.apply_status_update_on_order_status_updated"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with embedded(tmp_path, ORDERLY_RETRY_MAX_ATTEMPTS="2") as running:
        yield running


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **{k: v for k, v in server.env.items() if k.startswith("ORDERLY_")},
        "COLUMNS": "250",
    }
    return forkserver.orderly(list(args), env, timeout=60)


async def publish_status_for_missing_order(server: Server) -> str:
    """A delivery event about an order sales never had: its handler can only fail."""
    db = await open_database(server.env["ORDERLY_DATABASE_URL"], "fulfillment")
    update = OrderStatusUpdated(
        order_id="ghost-order",
        previous_status="PENDING_SHIPMENT",
        current_status="SHIPPED",
        tracking_number="T1",
        carrier="UPS",
    )
    message = new_message(update, source=SOURCE, aggregate_id="ghost-order")

    async def work(tx: Tx) -> None:
        await emit(tx, message)

    try:
        await db.transaction(work)
    finally:
        await db.close()
    return message.id


def metric(exposition: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text exposition."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{"):
            sample, value = line.rsplit(" ", 1)
            found = ",".join(sorted(sample[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}}")


async def dead_letters(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]] | None:
    """Ordering's dead letters (notifications, which mails a shipped order, parks the ghost
    order's message too), once there are `count`."""
    listed: list[dict[str, Any]] = (await client.get("/api/v1/admin/dead-letters")).json()
    found = [letter for letter in listed if letter["consumer"] == CONSUMER]
    return found if len(found) >= count else None


async def test_dead_letters_are_listed_shown_and_replayed(server: Server) -> None:
    client = server.client(server.login())
    message_id = await publish_status_for_missing_order(server)

    # the failing message is tried twice, then dead-lettered
    [letter] = await eventually(lambda: dead_letters(client, 1))
    assert (letter["consumer"], letter["message_id"], letter["attempts"]) == (
        CONSUMER,
        message_id,
        2,
    )
    assert letter["error"].startswith("OrderNotFound")
    shown = (await client.get(f"/api/v1/admin/dead-letters/{letter['id']}")).json()
    assert shown["message"]["data"]["order_id"] == "ghost-order"
    assert shown["message"]["event_type"] == OrderStatusUpdated.TYPE

    metrics = (await client.get("/metrics")).text
    assert (
        metric(
            metrics, "orderly_messages_consumed_total", consumer=CONSUMER, outcome="retry_scheduled"
        )
        == 1
    )
    assert (
        metric(
            metrics, "orderly_messages_consumed_total", consumer=CONSUMER, outcome="dead_lettered"
        )
        == 1
    )
    assert metric(metrics, "orderly_messages_published_total", context="fulfillment") == 1

    listed = cli(server, "dead-letters", "list")
    assert listed.returncode == 0, listed.stderr
    assert letter["id"] in listed.stdout
    shown_cli = cli(server, "dead-letters", "show", letter["id"])
    assert shown_cli.returncode == 0
    assert "ghost-order" in shown_cli.stdout

    # replaying a still-broken message tries it again and dead-letters it anew
    replayed = await client.post(f"/api/v1/admin/dead-letters/{letter['id']}/replay")
    assert replayed.status_code == 200
    assert replayed.json()["replayed_at"]
    letters = await eventually(lambda: dead_letters(client, 2))
    newest = letters[0]
    assert newest["id"] != letter["id"]
    assert newest["message_id"] == message_id

    # a dead letter is replayed once; unknown ids are 404
    again = await client.post(f"/api/v1/admin/dead-letters/{letter['id']}/replay")
    assert again.status_code == 409
    assert again.json()["code"] == "dead_letter_already_replayed"
    missing = await client.post("/api/v1/admin/dead-letters/nope/replay")
    assert missing.status_code == 404
    assert missing.json()["code"] == "dead_letter_not_found"

    # the CLI replays too, and the running server retries at its next poll
    by_cli = cli(server, "dead-letters", "replay", newest["id"])
    assert by_cli.returncode == 0, by_cli.stderr
    await eventually(lambda: dead_letters(client, 3))
    assert cli(server, "dead-letters", "replay", newest["id"]).returncode == 1


def test_outbox_status_reports_each_context(server: Server) -> None:
    result = cli(server, "outbox", "status")
    assert result.returncode == 0, result.stderr
    for context in ("catalog", "ordering", "fulfillment"):
        assert context in result.stdout


async def test_a_running_server_prunes_published_messages_after_their_retention(
    tmp_path: Path,
) -> None:
    with embedded(tmp_path, ORDERLY_MESSAGE_RETENTION="1", ORDERLY_PRUNE_INTERVAL="0.2") as running:
        client = running.client(running.login())
        await publish_status_for_missing_order(running)
        await publish_status_for_missing_order(running)
        # the messages went out (their handler failed them into dead letters) ...
        await eventually(lambda: dead_letters(client, 2))

        async def fulfillment_outbox_pruned() -> bool:
            statuses = (await client.get("/api/v1/admin/outbox")).json()
            [status] = [s for s in statuses if s["context"] == "fulfillment"]
            return (status["pending"], status["published"]) == (0, 1)

        # ... and a second after, the older row is gone (the newest stays: ids never restart)
        await eventually(fulfillment_outbox_pruned)


def test_the_command_in_an_interpreter_of_its_own_serves_and_stops(tmp_path: Path) -> None:
    """The tests fork their servers from a process that imported Orderly once
    (`tests/forkserver.py`); this one is started as an operator starts it."""
    env = {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}", "ORDERLY_BROKER_URL": ""}
    server = Server(env, tmp_path).start(fork=False).wait_ready()
    try:
        assert isinstance(server.process, subprocess.Popen)
        assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    finally:
        server.stop()
    # it stopped on the SIGTERM it was sent, not on the SIGKILL that follows a stop too slow
    assert server.process.returncode == -signal.SIGTERM, server.log()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"ORDERLY_DATABASE_URL": "mysql://x/y"},
            "unsupported scheme 'mysql'",
            id="bad-database-scheme",
        ),
        pytest.param(
            {"ORDERLY_BROKER_URL": "kafka://x"},
            "ORDERLY_BROKER_URL: unsupported scheme",
            id="bad-broker-scheme",
        ),
        pytest.param(
            {"ORDERLY_DATABASE_URL": "postgresql://postgres:secret@127.0.0.1:1/nowhere"},
            "cannot use the database at postgresql://postgres:***@127.0.0.1:1/nowhere",
            id="unreachable-database",
        ),
        pytest.param(
            {"ORDERLY_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/"},
            "cannot use the broker at amqp://guest:***@127.0.0.1:1/",
            id="unreachable-broker",
        ),
    ],
)
def test_bad_configuration_fails_at_startup_in_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    full = {
        **os.environ,
        "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}",
        **env,
        "COLUMNS": "400",
    }
    result = forkserver.orderly(["serve", "--port", "1"], full, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "secret" not in result.stderr + result.stdout


def test_migrate_and_demo_load_can_run_again_without_changing_anything(tmp_path: Path) -> None:
    env = {**os.environ, "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}", "COLUMNS": "200"}

    def run(*args: str) -> str:
        result = forkserver.orderly(list(args), env, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "migrated identity, catalog, pricing, inventory, ordering, payments, fulfillment" in run(
        "migrate"
    )
    assert "10 product(s) created, 0 already there" in run("demo", "load")
    assert "migrated" in run("migrate")
    assert "0 product(s) created, 10 already there" in run("demo", "load")


async def test_metrics_count_orders_by_flow_sagas_by_state_and_the_consumers_lag(
    server: Server,
) -> None:
    ops = server.client(server.login())
    made = await ops.post(
        "/api/v1/products",
        json={"name": "Metered", "sku": "METER-1", "price": "5.00", "stock": 20},
    )
    product = made.json()["id"]
    shopper = server.client(server.register_customer()["token"])

    async def ordered(channel: str, card: str | None, status: int) -> None:
        body = {
            "items": [{"product_id": product, "quantity": 1}],
            "shipping_address": {
                "line1": "1 Main St",
                "city": "X",
                "postal_code": "1",
                "country": "US",
            },
            "channel": channel,
            **({"payment_method": card} if card else {}),
        }

        async def placed() -> bool:
            answer = await shopper.post("/api/v1/orders", json=body)
            return answer.status_code == status

        await eventually(placed)

    await ordered("direct", None, 201)
    await ordered("guarded", "tok_visa", 201)
    await ordered("guarded", "tok_decline", 402)

    # orders by their flow; each guarded checkout's saga by how it ended
    metrics = (await ops.get("/metrics")).text
    assert metric(metrics, "orderly_orders_placed_total", channel="direct") == 1
    assert metric(metrics, "orderly_orders_placed_total", channel="guarded") == 2
    sagas = {"context": "ordering", "kind": "guarded_checkout"}
    assert metric(metrics, "orderly_sagas", **sagas, state="completed") == 1
    assert metric(metrics, "orderly_sagas", **sagas, state="compensated") == 1
    # every consumer that handled a message says how old it was by then
    lags = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("orderly_consumer_lag_seconds{")
    ]
    assert lags
    assert all(0 <= lag < 60 for lag in lags)


def test_the_outbox_backlog_is_read_from_the_databases(tmp_path: Path) -> None:
    # a process whose relay is off: what is written to the outbox stays there
    env = {"ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'var'}", "ORDERLY_BROKER_URL": ""}
    server = Server(env, tmp_path, relay=False)
    server.create_operator()
    server.start().wait_ready()
    try:
        headers = {"Authorization": f"Bearer {server.login()}"}
        product = {"name": "Pending", "sku": "PEND-1", "price": "5.00"}
        assert httpx.post(f"{server.url}/api/v1/products", json=product, headers=headers).is_success
        outbox = httpx.get(f"{server.url}/api/v1/admin/outbox", headers=headers).json()
        pending = {row["context"]: row["pending"] for row in outbox}
        metrics = httpx.get(f"{server.url}/metrics", headers=headers).text
        for context, count in pending.items():
            assert metric(metrics, "orderly_outbox_pending", context=context) == count
        assert pending["catalog"] >= 1
        assert metric(metrics, "orderly_outbox_oldest_pending_seconds", context="catalog") > 0
        assert metric(metrics, "orderly_outbox_oldest_pending_seconds", context="payments") == 0
    finally:
        server.stop()


def test_liveness_and_readiness_answer_without_a_token(server: Server) -> None:
    assert httpx.get(f"{server.url}/health/live").json() == {"status": "live"}
    assert httpx.get(f"{server.url}/health/ready").json() == {"status": "ready"}
