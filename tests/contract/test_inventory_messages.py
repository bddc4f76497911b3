"""Inventory answering ordering's messages through a running Orderly and its real transport:
a cart line holds stock until its time runs out; a cancelled order gives its stock back."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from orderly.bootstrap import Runtime
from orderly.config import load_settings
from orderly.inventory import handlers, service
from orderly.inventory.service import Receipt
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, emit
from orderly.ordering.messages import CartItemAdded, OrderLine
from orderly.storage import sql
from tests.conftest import Backend
from tests.messages import account_created, order_cancelled, order_created, product_created, told
from tests.waiting import eventually

RELEASED = sql("SELECT COUNT(*) AS n FROM outbox WHERE type = 'inventory.released'")


@pytest.fixture
async def runtime(backend: Backend) -> AsyncIterator[Runtime]:
    settings = load_settings(
        {
            **backend.env(),
            "ORDERLY_CONTEXTS": "identity,pricing,ordering,inventory",
            "ORDERLY_SOFT_RESERVATION_TTL": "1",
            "ORDERLY_SWEEP_INTERVAL": "0.1",
            "ORDERLY_POLL_INTERVAL": "0.1",
        }
    )
    running = await Runtime.start(settings)
    try:
        yield running
    finally:
        await running.stop()


async def stocked(runtime: Runtime, units: int) -> str:
    inventory = runtime.databases["inventory"]
    product_id = new_id()
    created = product_created(product_id, "S")
    await inventory.transaction(lambda tx: handlers.add_item_on_product_created(tx, created))
    await service.receive(inventory, Receipt(product_id, units, "L1", None))
    return product_id


async def publish(runtime: Runtime, message: Envelope, context: str = "ordering") -> None:
    """As ordering (or another context) would: from its outbox, in a transaction of its own."""
    await runtime.databases[context].transaction(lambda tx: emit(tx, message))


async def dc(runtime: Runtime, product_id: str) -> dict[str, Any]:
    position = await service.position(runtime.databases["inventory"], product_id)
    found: dict[str, Any] = position["dcs"][0]
    return found


async def test_a_cart_line_holds_stock_until_its_time_runs_out(runtime: Runtime) -> None:
    product_id = await stocked(runtime, 10)
    line = CartItemAdded(
        cart_id="cart-1", product_id=product_id, quantity=4, hold=4, customer_id="u-test"
    )
    await publish(runtime, told(line, "cart-1"))

    async def held() -> bool:
        return (await dc(runtime, product_id))["soft_reserved"] == 4

    await eventually(held)
    assert (await dc(runtime, product_id))["atp"] == 6

    # the hold lapses after ORDERLY_SOFT_RESERVATION_TTL (1 s here) and the sweep records it
    async def lapsed() -> bool:
        row = await runtime.databases["inventory"].read(lambda tx: tx.fetch_one(RELEASED))
        return row is not None and row["n"] == 1

    await eventually(lapsed)
    assert (await dc(runtime, product_id))["atp"] == 10


async def test_a_cancelled_order_gives_its_stock_back(runtime: Runtime) -> None:
    product_id = await stocked(runtime, 10)
    order_id = new_id()
    await publish(runtime, order_created(order_id, [OrderLine(product_id=product_id, quantity=3)]))

    async def reserved() -> bool:
        return (await dc(runtime, product_id))["hard_reserved"] == 3

    await eventually(reserved)
    await publish(runtime, order_cancelled(order_id, "x"))

    async def given_back() -> bool:
        return (await dc(runtime, product_id))["hard_reserved"] == 0

    await eventually(given_back)
    assert (await dc(runtime, product_id))["atp"] == 10


async def test_an_accounts_orders_get_no_lot_shorter_than_its_shelf_life(
    runtime: Runtime,
) -> None:
    inventory = runtime.databases["inventory"]
    product_id = await stocked(runtime, 0)
    today = utcnow().date()
    await service.receive(inventory, Receipt(product_id, 40, "SHORT", today + timedelta(days=75)))
    await service.receive(inventory, Receipt(product_id, 100, "LONG", today + timedelta(days=381)))
    # a shelf life is kept only for an account identity opened (account.created)
    with pytest.raises(service.AccountNotFound):
        await service.set_shelf_life(inventory, "PH-45678", 180)
    await publish(runtime, account_created("PH-45678"), context="identity")

    async def kept() -> bool:
        try:
            await service.set_shelf_life(inventory, "PH-45678", 180)
        except service.AccountNotFound:
            return False
        return True

    await eventually(kept)
    for order_id, account in (("o-pharmacy", "PH-45678"), ("o-shop", None)):
        line = OrderLine(product_id=product_id, quantity=10)
        await publish(runtime, order_created(order_id, [line], account_id=account))

    async def lots() -> dict[str, int] | None:
        position = await service.position(inventory, product_id)
        taken = {lot["lot"]: lot["reserved"] for lot in position["lots"]}
        return taken if sum(taken.values()) == 20 else None

    # the pharmacy's units come from the long-dated lot; the shop's, first-expiry, the short
    assert await eventually(lots) == {"SHORT": 10, "LONG": 10, "L1": 0}
