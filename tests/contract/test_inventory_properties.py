"""Random sequences of reserve / soft-hold / release / expire / pick / quarantine / safety
stock keep stock consistent.

Each example is a fresh product on a real SQLite inventory database, driven through the
service's commands; after every step the stock must agree with a model of what was asked:
no lot holds more reservations than units, hard reservations add up to what the lots hold,
on-hand falls only by picks, nothing is promised beyond what is usable (expired lots never
are), and the position's figures count each unit once and add up over its DCs.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderly.config import Settings
from orderly.inventory import handlers, service, store
from orderly.inventory.domain import LotStatus
from orderly.inventory.policy import policy
from orderly.inventory.service import Line, Receipt
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx, open_database
from orderly.storage.migrations import migrate
from tests.messages import product_created

ORDERS = [f"order-{n}" for n in range(4)]
CARTS = [f"cart-{n}" for n in range(3)]
REFERENCES = frozenset(ORDERS + CARTS)
POLICY = policy(Settings())

operation = st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(ORDERS), st.integers(1, 40), st.integers(0, 400)),
    st.tuples(st.just("hold"), st.sampled_from(CARTS), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("release"), st.sampled_from(ORDERS + CARTS)),
    st.tuples(st.just("pick"), st.sampled_from(ORDERS)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("quarantine"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("safety"), st.integers(0, 60)),
)
lots = st.lists(
    st.tuples(st.integers(1, 50), st.one_of(st.none(), st.integers(-5, 700))),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def db(
    loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path_factory.mktemp('inventory-properties') / 'var'}"
    loop.run_until_complete(migrate(url, "inventory"))
    database = loop.run_until_complete(open_database(url, "inventory"))
    try:
        yield database
    finally:
        loop.run_until_complete(database.close())


@dataclass
class Model:
    received: int
    picked: int = 0
    hard: dict[str, int] = field(default_factory=dict)  # live hard reservations by order
    made: set[str] = field(default_factory=set)  # orders reserved once: a repeat changes nothing


async def scenario(
    db: Database, stock: list[tuple[int, int | None]], steps: list[tuple[Any, ...]]
) -> None:
    product_id = new_id()
    created = product_created(product_id, "P")
    await db.transaction(lambda tx: handlers.add_item_on_product_created(tx, created))
    today = utcnow().date()
    for n, (units, days) in enumerate(stock):
        expires = today + timedelta(days=days) if days is not None else None
        await service.receive(db, Receipt(product_id, units, f"L{n}", expires))
    model = Model(received=sum(units for units, _ in stock))
    for step in steps:
        # references are the example's own: the database is shared by every example
        step = tuple(f"{product_id}:{part}" if part in REFERENCES else part for part in step)
        await apply(db, product_id, model, step)
        await check(db, product_id, model)


async def apply(db: Database, product_id: str, model: Model, step: tuple[Any, ...]) -> None:
    match step:
        case ("reserve", order, quantity, shelf_life):

            async def reserve(tx: Tx) -> service.Outcome:
                line = [Line("1", product_id, quantity)]
                return await service.hard_reserve(tx, order, line, shelf_life_days=shelf_life)

            # the domain's choice, on the stock as read just before, is what gets reserved
            stock = await db.read(lambda tx: store.stock(tx, product_id, utcnow()))
            assert stock is not None
            chosen = stock.choose(quantity, utcnow().date(), shelf_life)
            outcome = await db.transaction(reserve)
            if order not in model.made:
                assert outcome.reserved == (chosen is not None)
            if chosen is not None and order not in model.made:
                dc, allocation = chosen
                [item] = outcome.items
                assert item["dc"] == dc
                assert [(lot["lot"], lot["quantity"]) for lot in item["lots"]] == [
                    (taken.lot_number, units) for taken, units in allocation
                ]
            if outcome.reserved and order not in model.made:
                model.hard[order] = quantity
            if outcome.reserved:
                model.made.add(order)
        case ("hold", cart, quantity, lapsed):
            terms = replace(POLICY, soft_ttl=timedelta(seconds=-1)) if lapsed else POLICY
            await db.transaction(
                lambda tx: service.soft_reserve(tx, cart, product_id, quantity, terms)
            )
        case ("release", reference):
            await db.transaction(lambda tx: service.release(tx, reference, "test"))
            model.hard.pop(reference, None)
        case ("pick", order):
            picked = await db.transaction(lambda tx: service.pick(tx, order))
            assert picked == model.hard.pop(order, 0)
            model.picked += picked
        case ("sweep",):
            await service.sweep_expired(db)
        case ("quarantine", n, blocked):
            lots = (await service.position(db, product_id))["lots"]
            lot = lots[n % len(lots)]
            status = LotStatus.QUARANTINED if blocked else LotStatus.RELEASED
            with contextlib.suppress(service.LotExpired):  # an expired lot is never released
                await service.set_lot_status(db, lot["lot_id"], status)
        case ("safety", units):
            await service.set_safety_stock(db, product_id, "MAIN", units)


async def check(db: Database, product_id: str, model: Model) -> None:
    position = await service.position(db, product_id)
    lots = position["lots"]
    assert all(0 <= lot["reserved"] <= lot["on_hand"] for lot in lots)
    assert sum(lot["reserved"] for lot in lots) == sum(model.hard.values())
    assert sum(lot["on_hand"] for lot in lots) == model.received - model.picked
    main = position["dcs"][0]
    assert position["atp"] >= 0
    # soft holds never take more than the usable, unreserved units
    assert main["soft_reserved"] <= main["on_hand"] - main["hard_reserved"]
    # a lot on or past its expiry date is blocked (expired, or quarantined), none of it promised
    today = utcnow().date()
    expired = [
        lot for lot in lots if lot["expires_on"] and date.fromisoformat(lot["expires_on"]) <= today
    ]
    assert all(lot["status"] in ("expired", "quarantined") for lot in expired)
    usable = sum(lot["on_hand"] - lot["reserved"] for lot in lots if lot["status"] == "released")
    assert position["atp"] <= usable
    # every unit counted once, per DC and in all
    parts = ("hard_reserved", "blocked", "soft_reserved", "safety_stock", "atp")
    for dc in position["dcs"]:
        assert dc["on_hand"] == sum(dc[part] for part in parts)
    for figure in (*parts, "on_hand", "safety_stock_level"):
        assert position[figure] == sum(dc[figure] for dc in position["dcs"])


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stock=lots, steps=st.lists(operation, max_size=25))
def test_stock_stays_consistent_under_any_sequence(
    loop: asyncio.AbstractEventLoop,
    db: Database,
    stock: list[tuple[int, int | None]],
    steps: list[tuple[Any, ...]],
) -> None:
    loop.run_until_complete(scenario(db, stock, steps))
