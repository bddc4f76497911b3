"""A running cluster as an operator sees it: each process's state under supervisord, whether it
is ready, and how many messages wait in its context's queues."""

import asyncio
import time
from dataclasses import dataclass

import httpx

from orderly.entrypoints.cluster import supervisor
from orderly.entrypoints.cluster.plan import Cluster, Process


@dataclass(frozen=True)
class Seen:
    process: Process
    state: str  # supervisord's: RUNNING, STARTING, BACKOFF, EXITED, ...
    pid: int
    uptime: float  # seconds, while running
    ready: str  # "ready", or why not
    waiting: int | None  # messages waiting in its context's queues (None: none to count)


def _health_path(process: Process) -> str:
    return "/health/ready" if process.context else "/health"


async def _ready(client: httpx.AsyncClient, cluster: Cluster, process: Process) -> str:
    try:
        answer = await client.get(cluster.url(process) + _health_path(process), timeout=2)
    except httpx.HTTPError as error:
        return f"no answer ({type(error).__name__})"
    if answer.status_code == 200:
        return "ready"
    try:
        return str(answer.json().get("code", answer.status_code))
    except ValueError:
        return str(answer.status_code)


async def waiting(cluster: Cluster) -> dict[str, int]:
    """Messages waiting in each context's consumer queues on RabbitMQ."""
    import aio_pika

    from orderly.bootstrap import topology
    from orderly.config import load_settings
    from orderly.messaging.transports.rabbitmq import queue_name

    settings = load_settings(cluster.shared)
    counts: dict[str, int] = {}
    connection = await aio_pika.connect(cluster.broker_url, timeout=5)
    try:
        channel = await connection.channel()
        for subscription in topology(settings).subscriptions:
            name = queue_name(cluster.namespace, subscription.consumer)
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                channel = await connection.channel()  # not declared yet: nothing waits in it
                continue
            count = queue.declaration_result.message_count or 0
            counts[subscription.context] = counts.get(subscription.context, 0) + count
    finally:
        await connection.close()
    return counts


async def seen(cluster: Cluster) -> list[Seen]:
    infos = {info["name"]: info for info in supervisor.processes(cluster.home)}
    async with httpx.AsyncClient() as client:
        readiness = await asyncio.gather(*(_ready(client, cluster, p) for p in cluster.processes))
    try:
        queued: dict[str, int] | None = await waiting(cluster)
    except Exception:  # the broker does not answer: the table says it cannot count
        queued = None
    now = time.time()
    found = []
    for process, ready in zip(cluster.processes, readiness, strict=True):
        info = infos.get(process.name, {})
        state = str(info.get("statename", "UNKNOWN"))
        started = float(info.get("start", 0))
        uptime = now - started if state == "RUNNING" and started else 0.0
        lag = None
        if process.context and queued is not None:
            lag = queued.get(process.context, 0)
        found.append(Seen(process, state, int(info.get("pid", 0)), uptime, ready, lag))
    return found
