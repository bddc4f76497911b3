"""Pricing's handlers through its consumers, on a SQLite database of its own: an order's
prices are locked as it is placed and voided if it is cancelled."""

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orderly.kernel.ids import new_id
from orderly.ordering.messages import OrderLine
from orderly.pricing import locks
from orderly.pricing.context import CONTEXT
from orderly.pricing.messages import PriceLocked, PriceLockVoided
from tests.bus import Bus, consumers_of
from tests.messages import order_cancelled, order_created

CONTRACT_DAY = date(2026, 1, 1)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    async with consumers_of(CONTEXT, tmp_path) as consumers:
        yield consumers


def lines(product_id: str, other_id: str) -> list[OrderLine]:
    return [
        OrderLine(product_id=product_id, quantity=3, price=Decimal("9.50")),
        OrderLine(
            product_id=other_id,
            quantity=1,
            price=Decimal("4.00"),
            price_source="contract",
            contract_id="c-1",
            price_effective_date=CONTRACT_DAY,
        ),
    ]


def test_the_consumers_keep_the_names_their_queues_have(bus: Bus) -> None:
    assert bus.names == [
        "pricing.wac_on_product_created",
        "pricing.wac_on_product_updated",
        "pricing.account_on_account_created",
        "pricing.locks_follow_orders",
        "pricing.lock_on_command",
        "pricing.void_on_command",
    ]


async def test_a_placed_order_has_its_prices_locked_once(bus: Bus) -> None:
    order_id, product_id, other_id = new_id(), new_id(), new_id()
    created = order_created(order_id, lines(product_id, other_id))
    await bus.deliver(created)
    await bus.deliver(order_created(order_id, lines(product_id, other_id)))
    held = await locks.order_locks(bus.db, order_id)
    assert [(lock["productId"], lock["price"], lock["status"]) for lock in held] == [
        (product_id, "9.50", "locked"),
        (other_id, "4.00", "locked"),
    ]
    assert (held[1]["source"], held[1]["contractId"]) == ("contract", "c-1")
    assert held[1]["effectiveDate"] == CONTRACT_DAY.isoformat()
    [told] = await bus.published()
    locked = told.read(PriceLocked)
    assert (told.type, locked.order_id) == (PriceLocked.TYPE, order_id)
    assert [(item.product_id, item.quantity, item.price) for item in locked.items] == [
        (product_id, 3, Decimal("9.50")),
        (other_id, 1, Decimal("4.00")),
    ]


async def test_a_cancelled_order_has_its_locks_voided_once(bus: Bus) -> None:
    order_id, product_id, other_id = new_id(), new_id(), new_id()
    await bus.deliver(order_created(order_id, lines(product_id, other_id)))
    await bus.deliver(order_cancelled(order_id))
    await bus.deliver(order_cancelled(order_id))
    held = await locks.order_locks(bus.db, order_id)
    assert [lock["status"] for lock in held] == ["voided", "voided"]
    locked, voided = await bus.published()
    assert (locked.type, voided.type) == (PriceLocked.TYPE, PriceLockVoided.TYPE)
    assert voided.read(PriceLockVoided).order_id == order_id


async def test_an_order_cancelled_before_it_is_heard_of_is_never_locked(bus: Bus) -> None:
    order_id, product_id, other_id = new_id(), new_id(), new_id()
    await bus.deliver(order_cancelled(order_id))
    await bus.deliver(order_created(order_id, lines(product_id, other_id)))
    assert await locks.order_locks(bus.db, order_id) == []
    assert await bus.published() == []
