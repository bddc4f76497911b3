"""The operator console (`/ops`) in a real browser, against an embedded Orderly beside a
simulated ERP: an operator replays a failed checkout's dead letter and the order is
confirmed; picks an order by scanning (a wrong barcode refused with its code), packs it and
records its delivery; releases a pharmacy's order that suspicious order monitoring held; sees
orders waiting for an approver without deciding on them; narrows the order list by state,
channel and account. A customer opening the console sees none of it, and none of its data is
asked for. Screenshots of the console's pages go to the README's docs."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from orderly.catalog.ndc import parse
from tests.browser.conftest import PHONE, off_loop, run, screenshot
from tests.browser.test_storefront import sign_in
from tests.e2e.b2b import World, b2b_world, order, pharmacy, product, settled
from tests.e2e.server import CUSTOMER_PASSWORD, OPERATOR_EMAIL, OPERATOR_PASSWORD
from tests.e2e.test_checkout_b2b import _threshold
from tests.e2e.test_checkout_b2c import place
from tests.e2e.test_seed001_flow import ADDRESS
from tests.e2e.test_warehouse import FIRST, barcode, scanned_product, wave_of
from tests.waiting import eventually


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    running = b2b_world("embedded", tmp_path_factory.mktemp("ops"))
    yield off_loop(running.__enter__)
    off_loop(lambda: running.__exit__(None, None, None))


@pytest.fixture
def ops(world: World, page: Page) -> Page:
    """A browser page signed in as the deployment's operator."""
    sign_in(page, world.deployed.identity.url, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(OPERATOR_EMAIL)
    return page


def url(world: World, path: str) -> str:
    return f"{world.deployed.identity.url}{path}"


def order_status(page: Page) -> Any:
    """The status the console's order page shows in its heading."""
    return page.get_by_role("heading", level=1).locator("[data-status]")


# -- dead letters -----------------------------------------------------------------------------


async def failed_checkout(world: World) -> str:
    """A pharmacy's order whose ERP step failed: FAILED, its checkout parked as a dead letter."""
    ph = pharmacy(world)
    pid = await product(world, price="7.50", stock=40)
    world.erp.faults("error", times=2)  # the call and its one retry
    try:
        order_id = (await order(ph, [(pid, 4)]))["order_id"]
        failed = await settled(ph.buyer, order_id)
    finally:
        world.erp.faults("ok")
    assert (failed["status"], failed["failure"]["reason"]) == ("FAILED", "erp_error")
    return str(order_id)


async def parked_letter(world: World, order_id: str) -> str:
    """The id of the order's checkout retry among the dead letters, once it is there."""
    ops = world.ops(world.deployed.ordering)

    async def parked() -> str | None:
        for letter in (await ops.get("/api/v1/admin/dead-letters")).json():
            if letter["type"] != "order.checkout_retry" or letter["replayed_at"]:
                continue
            shown = (await ops.get(f"/api/v1/admin/dead-letters/{letter['id']}")).json()
            if shown["message"]["data"]["orderId"] == order_id:
                return str(letter["id"])
        return None

    return await eventually(parked)


def test_an_operator_replays_a_dead_letter_and_the_order_is_confirmed(
    world: World, ops: Page, tmp_path: Path
) -> None:
    order_id = run(failed_checkout(world))
    letter = run(parked_letter(world, order_id))

    # the dead letter is listed; inspected, it shows the checkout it parked
    ops.goto(url(world, "/ops/dead-letters/"))
    row = ops.get_by_role("table", name="Dead letters").get_by_role(
        "row", name=re.compile(letter[:8])
    )
    expect(row).to_contain_text("order.checkout_retry")
    expect(row).to_contain_text("erp_error")
    row.get_by_role("button", name="Inspect").click()
    expect(ops.get_by_label("Message data")).to_contain_text(order_id)
    screenshot(ops, "ops-dead-letters", tmp_path)

    # replayed, it leaves the list, and the order's checkout runs again to its confirmation
    row.get_by_role("button", name="Replay").click()
    expect(ops.get_by_role("status")).to_contain_text(f"Dead letter {letter[:8]}")
    expect(row).to_have_count(0)
    ops.goto(url(world, f"/ops/order/?id={order_id}"))
    expect(order_status(ops)).to_have_attribute("data-status", "confirmed")
    history = ops.get_by_role("list", name="History").get_by_role("listitem")
    expect(history).to_have_count(4)  # PENDING, FAILED, PENDING, CONFIRMED
    steps = ops.get_by_role("table", name="Checkout saga steps")
    expect(steps.get_by_role("row", name=re.compile("^erp"))).to_contain_text("succeeded")
    expect(ops.locator("[data-saga-state]").first).to_have_attribute("data-saga-state", "completed")
    screenshot(ops, "ops-order", tmp_path)

    # shown replayed when asked for, and no longer offered to replay
    ops.goto(url(world, "/ops/dead-letters/"))
    expect(ops.get_by_text("No dead letter waits for a replay.")).to_be_visible()
    ops.get_by_label("Show replayed ones too").check()
    replayed = ops.get_by_role("row", name=re.compile(letter[:8]))
    expect(replayed).to_contain_text("replayed")
    expect(replayed.get_by_role("button", name="Replay")).to_have_count(0)


# -- the warehouse floor ----------------------------------------------------------------------


async def confirmed_scanned_order(world: World) -> tuple[str, str, str]:
    """A pharmacy's confirmed order of two units of a product with a GTIN, in an open wave:
    (the order's id, the product's GTIN, the wave's id)."""
    product_id, gtin = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 2)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    wave = await wave_of(world.ops(world.deployed.fulfillment), order_id)
    return str(order_id), gtin, str(wave["id"])


def test_an_order_is_picked_by_scan_packed_and_delivered_from_the_console(
    world: World, ops: Page, tmp_path: Path
) -> None:
    order_id, gtin, wave_id = run(confirmed_scanned_order(world))

    # the open wave is released to the floor, and its picks opened
    ops.goto(url(world, "/ops/warehouse/"))
    ops.get_by_role("button", name=f"Release wave {wave_id[:8]}").click()
    ops.get_by_role("link", name=f"Pick wave {wave_id[:8]}").click()
    expect(ops).to_have_url(re.compile(r"/ops/picks/\?wave="))
    task = ops.get_by_role("listitem", name=re.compile(f"for order {order_id[:8]}"))
    expect(task.get_by_test_id("picked")).to_have_text("0 of 2")

    # a unit of another product is refused, with the refusal's code, and nothing is picked
    field = task.get_by_label("Barcode")
    other = parse("0002-0800-01").gtin
    field.fill(barcode(other, FIRST[0], FIRST[1], "X1"))
    field.press("Enter")
    refusal = task.get_by_role("alert")
    expect(refusal).to_have_attribute("data-code", "scan_refused")
    expect(refusal).to_contain_text("is not this pick's product")
    expect(task.get_by_test_id("picked")).to_have_text("0 of 2")
    screenshot(ops, "ops-picks", tmp_path)

    # the right units, as a USB scanner sends them: typed into the field it left focused,
    # then Enter
    expect(field).to_be_focused()
    ops.keyboard.type(barcode(gtin, FIRST[0], FIRST[1], "SN1"))
    ops.keyboard.press("Enter")
    expect(task.get_by_role("status")).to_have_text("Picked 1 of 2.")
    expect(task.get_by_role("alert")).to_have_count(0)
    expect(field).to_be_focused()
    ops.keyboard.type(barcode(gtin, FIRST[0], FIRST[1], "SN2"))
    ops.keyboard.press("Enter")
    expect(task.get_by_test_id("picked")).to_have_text("2 of 2")
    expect(task).to_contain_text("PICKED")

    # packed, the carrier takes it; its delivery is recorded, and the order is delivered
    ops.get_by_role("navigation", name="Operations").get_by_role("link", name="Packing").click()
    pack = ops.get_by_role("form", name=f"Pack order {order_id[:8]} at MAIN")
    pack.get_by_label("Parcels").fill("2")
    pack.get_by_role("button", name="Packed").click()
    expect(ops.get_by_role("status")).to_contain_text(f"Order {order_id[:8]} is packed")
    ops.get_by_role("navigation", name="Operations").get_by_role("link", name="Shipments").click()
    shipment = ops.get_by_role("row").filter(has=ops.get_by_role("link", name=order_id[:8]))
    expect(shipment).to_contain_text("SHP-")
    screenshot(ops, "ops-shipments", tmp_path)
    shipment.get_by_label("Delivered where").fill("Pharmacy back door")
    shipment.get_by_role("button", name="Delivered").click()
    expect(ops.get_by_role("status")).to_contain_text("is delivered (Pharmacy back door)")
    ops.goto(url(world, f"/ops/order/?id={order_id}"))
    expect(order_status(ops)).to_have_attribute("data-status", "delivered")
    fulfillment = ops.get_by_role("table", name="Fulfillment steps")
    expect(fulfillment.get_by_role("row", name=re.compile("^deliver"))).to_contain_text("succeeded")


# -- compliance holds -------------------------------------------------------------------------


async def held_order(world: World) -> str:
    """A pharmacy's first order of a controlled drug family: held by suspicious order
    monitoring (`som_first_order`)."""
    civ = await product(world, schedule="CIV", stock=200)
    ph = pharmacy(world)
    order_id = (await order(ph, [(civ, 2)]))["order_id"]
    held = await settled(ph.buyer, order_id, "ON_HOLD")
    assert held["history"][-1]["details"]["rule"] == "som_first_order"
    return str(order_id)


def test_an_operator_releases_a_held_order_with_a_note_and_it_is_confirmed(
    world: World, ops: Page, tmp_path: Path
) -> None:
    order_id = run(held_order(world))

    ops.goto(url(world, "/ops/holds/"))
    hold = ops.get_by_role("listitem", name=f"Hold of order {order_id[:8]}")
    expect(hold).to_contain_text("som_first_order")
    note = "Called the pharmacist: a new oncology clinic next door, invoices on file."
    hold.get_by_label("Diligence note").fill(note)
    screenshot(ops, "ops-holds", tmp_path)
    hold.get_by_role("button", name="Release").click()
    expect(ops.get_by_role("status")).to_contain_text(f"order {order_id[:8]} is released")
    expect(hold).to_have_count(0)

    # the order goes on: its checkout completes, with the analyst's decision on record
    ops.goto(url(world, f"/ops/order/?id={order_id}"))
    expect(order_status(ops)).to_have_attribute("data-status", "confirmed")
    decisions = ops.get_by_role("table", name="Compliance decisions")
    expect(decisions.get_by_role("row", name=re.compile("released"))).to_have_count(1)
    # and the hold is among the released ones, with the note
    ops.goto(url(world, "/ops/holds/"))
    ops.get_by_label("Holds").select_option("released")
    expect(ops.get_by_role("listitem", name=f"Hold of order {order_id[:8]}")).to_contain_text(note)


# -- approvals ----------------------------------------------------------------------------------


async def awaiting_approval(world: World) -> str:
    ph = pharmacy(world)
    await _threshold(world, ph, "1.00")
    pid = await product(world, price="12.00", stock=30)
    order_id = (await order(ph, [(pid, 3)]))["order_id"]
    await settled(ph.buyer, order_id, "AWAITING_APPROVAL")
    return str(order_id)


def test_operators_see_the_orders_waiting_for_approval_read_only(
    world: World, ops: Page, tmp_path: Path
) -> None:
    order_id = run(awaiting_approval(world))
    ops.goto(url(world, "/ops/approvals/"))
    waiting = ops.get_by_role("table", name="Orders waiting for approval")
    expect(waiting.get_by_role("row", name=re.compile(order_id[:8]))).to_contain_text("$36.00")
    expect(ops.get_by_test_id("read-only")).to_contain_text("Operators cannot decide on it")
    expect(
        ops.get_by_role("main").get_by_role("button", name=re.compile("Approve|Reject"))
    ).to_have_count(0)
    screenshot(ops, "ops-approvals", tmp_path)


# -- the order list's filters -----------------------------------------------------------------


async def orders_of_three_buyers(world: World) -> dict[str, Any]:
    """Two pharmacies' confirmed orders and a shopper's direct order."""
    pid = await product(world, price="5.00", stock=100)
    first, second = pharmacy(world), pharmacy(world)
    made: dict[str, Any] = {"first": first.account_id, "second": second.account_id}
    for name, ph in (("first_order", first), ("second_order", second)):
        made[name] = (await order(ph, [(pid, 1)]))["order_id"]
        assert (await settled(ph.buyer, made[name]))["status"] == "CONFIRMED"
    shopper = world.deployed.ordering.client(world.deployed.customer()["token"])
    direct = await place(
        shopper, {"items": [{"product_id": pid, "quantity": 1}], "shipping_address": ADDRESS}
    )
    assert direct.status_code == 201, direct.text
    made["direct_order"] = direct.json()["order_id"]
    return made


def test_the_order_list_narrows_by_status_channel_and_account(
    world: World, ops: Page, tmp_path: Path
) -> None:
    made = run(orders_of_three_buyers(world))
    ops.goto(url(world, "/ops/"))
    table = ops.get_by_role("table", name="Orders")
    rows = table.locator("tbody").get_by_role("row")

    def filtered(status: str = "", channel: str = "", account: str = "", to: str = "") -> None:
        ops.get_by_label("State").select_option(status)
        ops.get_by_label("Channel").select_option(channel)
        ops.get_by_label("Account").fill(account)
        ops.get_by_label("Placed until").fill(to)
        ops.get_by_role("button", name="Filter").click()

    for name in ("first_order", "second_order", "direct_order"):
        expect(table).to_contain_text(made[name][:8])

    # one account's orders alone
    filtered(account=made["first"])
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(made["first_order"][:8])
    expect(rows.get_by_role("cell").nth(3)).to_have_text(made["first"])  # its account
    expect(ops).to_have_url(re.compile(f"account={made['first']}"))

    # a state in the b2b flow's words, on its channel: both pharmacies', not the shopper's
    filtered(status="CONFIRMED", channel="b2b")
    expect(table).to_contain_text(made["first_order"][:8])
    expect(table).to_contain_text(made["second_order"][:8])
    expect(table).not_to_contain_text(made["direct_order"][:8])
    screenshot(ops, "ops-orders", tmp_path)

    # the direct channel: the shopper's alone
    filtered(status="PENDING_SHIPMENT", channel="direct")
    expect(table).to_contain_text(made["direct_order"][:8])
    expect(table).not_to_contain_text(made["first_order"][:8])

    # filters that match nothing together say so
    filtered(status="PENDING_SHIPMENT", account=made["second"])
    expect(ops.get_by_text("No order matches these filters.")).to_be_visible()
    filtered(to="2000-01-01")
    expect(ops.get_by_text("No order matches these filters.")).to_be_visible()

    # at a phone's width, the list and its filters need no sideways scrolling
    ops.set_viewport_size(PHONE)
    ops.get_by_role("button", name="Clear").click()
    expect(rows.first).to_be_visible()
    assert ops.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# -- live figures and who sees the console ----------------------------------------------------


async def confirmed_order(world: World) -> None:
    ph = pharmacy(world)
    pid = await product(world, price="3.00", stock=10)
    await settled(ph.buyer, (await order(ph, [(pid, 1)]))["order_id"], "CONFIRMED")


def test_live_figures_draw_orders_by_flow_sagas_the_outbox_and_consumer_lag(
    world: World, ops: Page, tmp_path: Path
) -> None:
    # a pharmacy's order: counted by its flow, its saga ended, its messages consumed
    run(confirmed_order(world))

    ops.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()
    expect(ops).to_have_url(re.compile(r"/ops/$"))
    ops.get_by_role("navigation", name="Operations").get_by_role(
        "link", name="Live figures"
    ).click()
    figures = ops.get_by_role("list", name="Figures")
    # gauges are drawn from the first reading, rates from the second
    outbox = figures.get_by_role("listitem", name="Outbox backlog, by context")
    expect(outbox.get_by_test_id("outbox-ordering")).to_have_text(re.compile(r"^\d+ waiting$"))
    lag = figures.get_by_role("listitem", name="Consumer lag, by context")
    expect(lag.get_by_test_id("lag-ordering")).to_have_text(re.compile(r"^[\d.]+ s$"))
    memory = figures.get_by_role("listitem", name="Process memory (resident)")
    expect(memory.get_by_test_id("memory-all")).to_have_text(re.compile(r"^\d+ MB$"))
    orders = figures.get_by_role("listitem", name="Orders per minute, by flow")
    expect(orders.get_by_test_id("orders-b2b")).to_have_text(re.compile(r"/min$"), timeout=20_000)
    screenshot(ops, "ops-live", tmp_path)


def test_a_customer_opening_the_console_sees_no_operator_data(world: World, page: Page) -> None:
    customer = world.deployed.customer()
    asked: list[str] = []

    def note(request: Request) -> None:
        asked.append(request.url)

    page.on("request", note)
    sign_in(page, world.deployed.identity.url, customer["email"], CUSTOMER_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(customer["email"])
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders")
    ).to_be_visible()
    assert page.get_by_role("link", name="Operations").count() == 0

    for path in ("/ops/", "/ops/dead-letters/", "/ops/holds/", "/ops/live/", "/ops/picks/?wave=x"):
        page.goto(url(world, path))
        expect(page.get_by_role("main").get_by_role("alert")).to_have_text(
            "This page is for operators."
        )
        expect(page.get_by_role("navigation", name="Operations")).to_have_count(0)
        expect(page.get_by_role("table")).to_have_count(0)
    operators_only = (
        "/api/v1/admin",
        "/api/v1/compliance",
        "/metrics",
        "/api/v1/waves",
        "/api/v1/pick-tasks",
        "/api/v1/sagas",
        "/api/v1/orders",
    )
    assert not [seen for seen in asked if any(part in seen for part in operators_only)]
