"""What a running Orderly published, seen where it travels.

Distributed, a tap queue bound to every context's exchange hears the messages on RabbitMQ.
Embedded, the in-process transport cannot be tapped from outside, so the tap reads what each
context committed to its outbox for the relay to deliver.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import orjson

from orderly.config import ALL_CONTEXTS
from orderly.messaging.envelope import decode_envelope
from orderly.storage import open_database, sql
from tests.conftest import Backend
from tests.services import AMQP_URL

_OUTBOX = sql("SELECT envelope FROM outbox ORDER BY id")


def _about(data: dict[str, Any]) -> str:
    return str(data.get("orderId") or data.get("order_id") or data.get("reference") or "")


class Wire:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.heard: list[dict[str, Any]] = []

    async def everything(self) -> list[dict[str, Any]]:
        """Every message, as {event_type, data}, in the order it was heard or published."""
        return list(self.heard) if self.backend.broker_url else await self._outboxes()

    async def events(self, order_id: str) -> list[dict[str, Any]]:
        """The messages about `order_id`."""
        return [e for e in await self.everything() if _about(e["data"]) == order_id]

    async def types(self, order_id: str) -> list[str]:
        return [e["event_type"] for e in await self.events(order_id)]

    async def _outboxes(self) -> list[dict[str, Any]]:
        found: list[tuple[str, dict[str, Any]]] = []
        for context in ALL_CONTEXTS:
            db = await open_database(self.backend.database_url, context)
            try:
                rows = await db.read(lambda tx: tx.fetch_all(_OUTBOX))
            finally:
                await db.close()
            for row in rows:
                message = decode_envelope(row["envelope"])
                found.append(
                    (
                        message.occurred_at.isoformat(),
                        {"event_type": message.type, "data": message.data},
                    )
                )
        return [event for _, event in sorted(found, key=lambda pair: pair[0])]


@asynccontextmanager
async def tapped(backend: Backend) -> AsyncIterator[Wire]:
    wire = Wire(backend)
    if not backend.broker_url:
        yield wire
        return
    connection = await aio_pika.connect_robust(AMQP_URL, timeout=30)
    try:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True)
        for context in ALL_CONTEXTS:
            exchange = await channel.declare_exchange(
                f"{backend.namespace}.{context}", aio_pika.ExchangeType.TOPIC, durable=True
            )
            await tap.bind(exchange, routing_key="#")

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                wire.heard.append(orjson.loads(message.body))

        await tap.consume(keep)
        yield wire
    finally:
        await connection.close()
