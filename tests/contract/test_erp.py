"""The ERP port against the simulated SAP (`orderly erp-sim`) in a process of its own: the
HTTP adapter's idempotency, timeouts, retries and errors, and the context's handler and caller
answering the checkout's `erp.sales_order.create` through its consumers."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from orderly.config import Settings
from orderly.erp import queries
from orderly.erp.context import CONTEXT
from orderly.erp.messages import (
    CreateSalesOrder,
    SalesOrderCancelled,
    SalesOrderCreated,
    SalesOrderFailed,
    SalesOrderLine,
)
from orderly.erp.port import ErpError, ErpRejected, ErpTimeout, HttpErp
from orderly.kernel.ids import new_id
from orderly.messaging import Envelope, new_message
from orderly.storage import open_database
from orderly.storage.migrations import migrate
from tests.bus import Bus
from tests.e2e.server import free_port
from tests.erp_sim import Simulator, running_simulator
from tests.messages import order_cancelled
from tests.waiting import eventually

ANSWERS = (SalesOrderCreated.TYPE, SalesOrderFailed.TYPE)


@pytest.fixture(scope="module")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("erp-sim")) as running:
        yield running


@pytest.fixture
def sim(simulator_process: Simulator) -> Simulator:
    simulator_process.faults("ok")
    return simulator_process


def sales_order_request(order_id: str | None = None, run: int = 1) -> CreateSalesOrder:
    return CreateSalesOrder(
        order_id=order_id or new_id(),
        run=run,
        account_id="acct-pharmacy-1",
        ship_to={"line1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701"},
        items=[
            SalesOrderLine(
                product_id="prod-1", quantity=3, price=Decimal("10.00"), ndc="0002-1433-80"
            ),
            SalesOrderLine(product_id="prod-2", quantity=1, price=Decimal("4.50")),
        ],
        total_amount=Decimal("34.50"),
        currency="USD",
    )


# A wait the tests that count the calls the simulator saw give each call: long enough that a
# call the client gives up on has reached the simulator first, even on a loaded host (in a
# full run, 0.2 s and then 1 s were not: a call abandoned before it was read is never counted).
ARRIVES = 5.0


@asynccontextmanager
async def http_erp(sim: Simulator, wait: float = 2.0, retries: int = 2) -> AsyncIterator[HttpErp]:
    erp = HttpErp(sim.url, wait, retries, backoff=0.02)
    try:
        yield erp
    finally:
        await erp.close()


# The HTTP adapter


async def test_a_sales_order_number_comes_back_for_the_order(sim: Simulator) -> None:
    request = sales_order_request()
    async with http_erp(sim) as erp:
        number = await erp.create_sales_order(request, request.order_id)

    assert number.startswith("45")
    assert len(number) == 10
    made = sim.orders(request.order_id)
    assert (made["count"], made["number"]) == (1, number)
    sent = made["request"]
    assert sent["SalesOrderType"] == "OR"
    assert sent["SoldToParty"] == "acct-pharmacy-1"
    assert sent["PurchaseOrderByCustomer"] == request.order_id
    items = sent["to_Item"]["results"]
    assert [(i["SalesOrderItem"], i["Material"], i["RequestedQuantity"]) for i in items] == [
        ("10", "0002-1433-80", "3"),
        ("20", "prod-2", "1"),
    ]


async def test_the_same_key_twice_makes_one_sales_order(sim: Simulator) -> None:
    request = sales_order_request()
    async with http_erp(sim) as erp:
        first = await erp.create_sales_order(request, request.order_id)
        second = await erp.create_sales_order(request, request.order_id)

    assert first == second
    made = sim.orders(request.order_id)
    assert (made["count"], made["calls"]) == (1, 2)


async def test_the_latency_switch_slows_every_call(sim: Simulator) -> None:
    sim.faults("ok", latency_ms=300)
    request = sales_order_request()
    async with http_erp(sim) as erp:
        started = time.monotonic()
        await erp.create_sales_order(request, request.order_id)

    assert time.monotonic() - started >= 0.3


async def test_a_timed_out_call_is_tried_again_with_the_same_key_and_makes_one_order(
    sim: Simulator,
) -> None:
    # given: the ERP makes the order but withholds its answer, once
    sim.faults("timeout", times=1)
    request = sales_order_request()
    async with http_erp(sim, wait=ARRIVES, retries=2) as erp:
        number = await erp.create_sales_order(request, request.order_id)

    made = sim.orders(request.order_id)
    assert (made["count"], made["calls"], made["number"]) == (1, 2, number)


async def test_an_erp_that_never_answers_times_out_after_its_retries(sim: Simulator) -> None:
    sim.faults("timeout")
    request = sales_order_request()
    async with http_erp(sim, wait=ARRIVES, retries=1) as erp:
        with pytest.raises(ErpTimeout):
            await erp.create_sales_order(request, request.order_id)
        # the withheld calls made one order, which the key finds again once the ERP answers
        sim.faults("ok")
        number = await erp.create_sales_order(request, request.order_id)

    made = sim.orders(request.order_id)
    assert (made["count"], made["calls"], made["number"]) == (1, 3, number)


async def test_a_failing_erp_is_an_error_after_its_retries_and_makes_nothing(
    sim: Simulator,
) -> None:
    sim.faults("error")
    request = sales_order_request()
    async with http_erp(sim, retries=2) as erp:
        with pytest.raises(ErpError):
            await erp.create_sales_order(request, request.order_id)

    assert sim.orders(request.order_id)["count"] == 0


async def test_a_failure_that_passes_is_tried_again(sim: Simulator) -> None:
    sim.faults("error", times=2)
    request = sales_order_request()
    async with http_erp(sim, retries=2) as erp:
        number = await erp.create_sales_order(request, request.order_id)

    assert sim.orders(request.order_id)["number"] == number


async def test_a_refused_request_is_not_tried_again(sim: Simulator) -> None:
    # a second try would find the ERP accepting again
    sim.faults("reject", times=1)
    request = sales_order_request()
    async with http_erp(sim, retries=2) as erp:
        with pytest.raises(ErpRejected, match="simulated rejection"):
            await erp.create_sales_order(request, request.order_id)

    assert sim.orders(request.order_id)["count"] == 0


async def test_an_erp_nobody_listens_for_is_an_error() -> None:
    request = sales_order_request()
    async with http_erp(Simulator(f"http://127.0.0.1:{free_port()}"), retries=1) as erp:
        with pytest.raises(ErpError):
            await erp.create_sales_order(request, request.order_id)


# The handler and the caller, through the context's consumers


@asynccontextmanager
async def erp_context(
    database_url: str, sim: Simulator, *, wait: float = 2.0, retries: int = 1, caller: bool = True
) -> AsyncIterator[Bus]:
    """The context's consumers on its database, and its caller running (its backstop poll far
    off: a request is called because the handler's commit woke it)."""
    settings = Settings(erp_url=sim.url, erp_timeout=wait, erp_retries=retries)
    await migrate(database_url, CONTEXT.name)
    db = await open_database(database_url, CONTEXT.name)
    workers = CONTEXT.wire(settings).workers if caller else ()
    tasks = [asyncio.create_task(work(db, 60.0)) for work in workers]
    try:
        yield Bus(CONTEXT, db, settings)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()


def command(request: CreateSalesOrder, saga_id: str) -> Envelope:
    return new_message(
        request, source="ordering-service", aggregate_id=request.order_id, saga_id=saga_id
    )


async def answers(bus: Bus, order_id: str, count: int = 1) -> list[Envelope]:
    async def enough() -> list[Envelope] | None:
        found = await bus.published(order_id, *ANSWERS)
        return found if len(found) >= count else None

    return await eventually(enough, within=10)


def test_the_consumer_keeps_the_name_its_queue_has() -> None:
    names = [s.consumer for s in CONTEXT.wire(Settings()).subscriptions]
    assert names == [
        "erp.create_sales_order",
        "erp.cancel_on_order_cancelled",
        "erp.credit_on_order_credited",
    ]


async def test_a_command_is_answered_with_the_sales_order_in_the_saga(
    database_url: str, sim: Simulator
) -> None:
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim) as bus:
        sent = command(request, saga_id)
        await bus.deliver(sent)
        [answer] = await answers(bus, request.order_id)

        assert answer.type == SalesOrderCreated.TYPE
        assert (answer.saga_id, answer.causation_id) == (saga_id, sent.id)
        assert answer.correlation_id == sent.correlation_id
        created = answer.read(SalesOrderCreated)
        assert created.run == 1
        assert created.sales_order_number == sim.orders(request.order_id)["number"]
        view = await queries.sales_order_of(bus.db, request.order_id)
        assert (view["status"], view["sales_order_number"]) == (
            "created",
            created.sales_order_number,
        )


async def test_a_repeated_command_hears_the_same_answer_and_makes_one_sales_order(
    database_url: str, sim: Simulator
) -> None:
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim) as bus:
        await bus.deliver(command(request, saga_id))
        [first] = await answers(bus, request.order_id)
        # when: the saga sends the command again (its step timed out)
        again = command(request, saga_id)
        await bus.deliver(again)
        _, second = await answers(bus, request.order_id, 2)

    assert second.causation_id == again.id
    assert second.saga_id == saga_id
    assert second.data == first.data
    made = sim.orders(request.order_id)
    assert (made["count"], made["calls"]) == (1, 1)


async def test_a_command_repeated_while_its_call_is_under_way_is_left_to_that_call(
    database_url: str, sim: Simulator
) -> None:
    sim.faults("ok", latency_ms=400)
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim) as bus:
        await bus.deliver(command(request, saga_id))
        await bus.deliver(command(request, saga_id))
        await answers(bus, request.order_id)
        sim.faults("ok")
        # a third command, once answered, hears the answer: only then two answers exist
        await bus.deliver(command(request, saga_id))
        found = await answers(bus, request.order_id, 2)

    assert len(found) == 2
    assert sim.orders(request.order_id)["calls"] == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("timeout", "erp_timeout"), ("error", "erp_error"), ("reject", "erp_rejected")],
    ids=["timeout", "error", "rejected"],
)
async def test_an_erp_that_fails_is_told_to_the_saga(
    database_url: str, sim: Simulator, mode: str, reason: str
) -> None:
    sim.faults(mode)
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim, wait=0.2, retries=1) as bus:
        await bus.deliver(command(request, saga_id))
        [answer] = await answers(bus, request.order_id)

    assert answer.type == SalesOrderFailed.TYPE
    assert answer.saga_id == saga_id
    failed = answer.read(SalesOrderFailed)
    assert (failed.reason, failed.run) == (reason, 1)
    assert failed.detail


async def test_a_replayed_checkout_asks_again_with_the_same_key(
    database_url: str, sim: Simulator
) -> None:
    # given: run 1 timed out, though the ERP made the order and withheld its answer
    sim.faults("timeout")
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim, wait=0.2, retries=0) as bus:
        await bus.deliver(command(request, saga_id))
        [failed] = await answers(bus, request.order_id)
        assert failed.read(SalesOrderFailed).reason == "erp_timeout"
        # when: the operator replays the checkout (run 2) and the ERP answers again
        sim.faults("ok")
        replay = sales_order_request(request.order_id, run=2)
        await bus.deliver(command(replay, saga_id))
        _, answer = await answers(bus, request.order_id, 2)

    created = answer.read(SalesOrderCreated)
    assert created.run == 2
    made = sim.orders(request.order_id)
    assert (made["count"], made["number"]) == (1, created.sales_order_number)


async def test_requests_recorded_before_the_caller_ran_are_called_when_it_starts(
    database_url: str, sim: Simulator
) -> None:
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim, caller=False) as bus:
        await bus.deliver(command(request, saga_id))
        assert await bus.published(request.order_id) == []
    # when: a process starts on the same database (as after a crash)
    async with erp_context(database_url, sim) as bus:
        [answer] = await answers(bus, request.order_id)

    assert answer.type == SalesOrderCreated.TYPE


async def test_many_requests_are_called_at_once(database_url: str, sim: Simulator) -> None:
    sim.faults("ok", latency_ms=300)
    requests = [sales_order_request() for _ in range(20)]
    async with erp_context(database_url, sim) as bus:
        started = time.monotonic()
        for request in requests:
            await bus.deliver(command(request, new_id()))
        for request in requests:
            await answers(bus, request.order_id)
        took = time.monotonic() - started

    # one after another they would take 6 s
    assert took < 3.0


# An order cancelled: its sales order is cancelled in the ERP


async def cancelled_in_erp(bus: Bus, sim: Simulator, order_id: str) -> Envelope:
    """The `erp.sales_order.cancelled` the context told, once the simulator has cancelled
    the order's sales order."""

    async def told() -> Envelope | None:
        found = await bus.published(order_id, SalesOrderCancelled.TYPE)
        return found[0] if found and sim.orders(order_id)["cancelled"] else None

    return await eventually(told, within=10)


async def test_a_cancelled_order_s_sales_order_is_cancelled_in_the_erp_once(
    database_url: str, sim: Simulator
) -> None:
    request = sales_order_request()
    async with erp_context(database_url, sim) as bus:
        await bus.deliver(command(request, new_id()))
        [created] = await answers(bus, request.order_id)
        number = created.read(SalesOrderCreated).sales_order_number
        assert sim.orders(request.order_id)["cancelled"] is False

        await bus.deliver(order_cancelled(request.order_id))
        told = await cancelled_in_erp(bus, sim, request.order_id)
        assert told.read(SalesOrderCancelled).sales_order_number == number
        # the cancellation told again (at-least-once delivery) cancels nothing more
        await bus.deliver(order_cancelled(request.order_id))
        assert len(await bus.published(request.order_id, SalesOrderCancelled.TYPE)) == 1


async def test_an_order_cancelled_before_its_sales_order_is_asked_for_never_gets_one(
    database_url: str, sim: Simulator
) -> None:
    request, saga_id = sales_order_request(), new_id()
    async with erp_context(database_url, sim) as bus:
        await bus.deliver(order_cancelled(request.order_id))
        await bus.deliver(command(request, saga_id))
        [answer] = await answers(bus, request.order_id)

    assert answer.type == SalesOrderFailed.TYPE
    assert answer.saga_id == saga_id
    assert answer.read(SalesOrderFailed).reason == "order_cancelled"
    assert sim.orders(request.order_id)["calls"] == 0


async def test_a_sales_order_made_as_its_order_was_cancelled_is_cancelled_once_made(
    database_url: str, sim: Simulator
) -> None:
    # the ERP makes the sales order and withholds its answer; the call after the timeout hears it
    sim.faults("timeout", times=1)
    request = sales_order_request()
    async with erp_context(database_url, sim, wait=1.0) as bus:
        await bus.deliver(command(request, new_id()))

        async def made() -> bool:
            return bool(sim.orders(request.order_id)["count"])

        # the order is cancelled while the ERP holds the call: no sales order is known yet
        await eventually(made, within=ARRIVES)
        await bus.deliver(order_cancelled(request.order_id))
        [created] = await answers(bus, request.order_id)
        told = await cancelled_in_erp(bus, sim, request.order_id)

    number = created.read(SalesOrderCreated).sales_order_number
    assert told.read(SalesOrderCancelled).sales_order_number == number
