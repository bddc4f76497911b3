"""Whole journeys through the warehouse, in both modes, with the customer's mail read from a
real SMTP server: a pharmacy's order and a shop's paid order go from confirmation to
delivery by the operators' HTTP actions (release, scan, pack; the carrier ships; delivered)
and their customers hear of each step; an order cancelled while it waits for its (late)
wave, or while its picks are half scanned or counted, is undone in reverse, its units back
on hand, its shipment cancelled, nothing shipped and the customer told; a mail the customer
turned off is not sent while the required ones are. (The cancel while waiting to be packed
is `test_warehouse.py`'s.)

Packing hands the order to the carrier at once (the saga's `fulfillment.ship` is answered by
the floor itself, with no operator's action between): there is no moment to cancel a packed
order. A shipped one's cancel is refused; one sent the moment the order is packed, before
ordering hears it shipped, is either refused or honoured to the end, never both."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from tests.e2e.b2b import Mail, Pharmacy, World, b2b_world, order, pharmacy, settled
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.test_warehouse import (
    barcode,
    fulfillment,
    lots_on_hand,
    scanned_product,
    shipped,
    tasks_of,
    waiting_to_pack,
    wave_of,
)
from tests.e2e.wire import Wire, tapped
from tests.services import unique
from tests.waiting import eventually

UNTOUCHED = {"L100": 5, "L200": 5}  # what `scanned_product` receives
# The commands that undo a fulfillment's steps, and their answers.
UNDOING = ("fulfillment.picks.cancel", "pick.cancelled", "inventory.release", "inventory.released")


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # waits on the floor last a second: an order left in its wave is escalated at once
    settings = {"ORDERLY_SWEEP_INTERVAL": "0.2", "ORDERLY_FLOOR_WAIT": "1"}
    with b2b_world(request.param, tmp_path_factory.mktemp("journeys"), **settings) as running:
        yield running


async def address_of(world: World, ph: Pharmacy) -> str:
    """The pharmacy buyer's e-mail address, as its account lists it."""
    admin = world.deployed.identity.client(ph.admin_token)
    members = (await admin.get(f"/api/v1/accounts/{ph.account_id}/users")).json()
    return str(next(m["email"] for m in members if m["userId"] == ph.buyer_id))


async def release_and_pick(ops: httpx.AsyncClient, order_id: str) -> None:
    """Release the order's wave and pick every unit: a GS1 scan each, or a count for a
    product with no GTIN."""
    wave = await wave_of(ops, order_id)
    released = await ops.post(f"/api/v1/waves/{wave['id']}/release")
    assert released.status_code == 200, released.text
    for task in await tasks_of(ops, order_id):
        await pick(ops, task, task["quantity"])


async def pick(ops: httpx.AsyncClient, task: dict[str, Any], units: int) -> None:
    route = f"/api/v1/pick-tasks/{task['id']}/scan"
    if task["gtin"] is None:
        answer = await ops.post(route, json={"count": units})
        assert answer.status_code == 200, answer.text
        return
    expires = date.fromisoformat(task["expires_on"])
    for n in range(units):
        unit = barcode(task["gtin"], task["lot"], expires, f"{n}{task['id'][:8]}")
        answer = await ops.post(route, json={"barcode": unit})
        assert answer.status_code == 200, answer.text


async def packed_and_shipped(ops: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    await waiting_to_pack(ops, order_id)
    packed = await ops.post(f"/api/v1/pack-tasks/{order_id}/complete", json={"packages": 1})
    assert packed.status_code == 200, packed.text
    return await shipped(ops, order_id)


async def deliver(ops: httpx.AsyncClient, shipment: dict[str, Any], where: str) -> None:
    route = f"/api/v1/shipments/{shipment['id']}/deliver"
    delivered = await ops.post(route, json={"delivery_location": where})
    assert delivered.status_code == 200, delivered.text


async def mail_log(world: World, order_id: str, wanted: set[tuple[str, str]]) -> list[Any]:
    """The order's mail log once it is `wanted`, (template, status) each once: none queued."""
    notifications = world.ops(world.deployed.notifications)

    async def read() -> list[dict[str, Any]] | None:
        answer = await notifications.get(
            "/api/v1/notifications/mails", params={"order_id": order_id}
        )
        logged: list[dict[str, Any]] = answer.json()
        found = {(mail["template"], mail["status"]) for mail in logged}
        return logged if found == wanted and len(logged) == len(wanted) else None

    return await eventually(read, within=30)


async def mails_to(world: World, address: str, count: int) -> dict[str, Mail]:
    """The `count` mails the SMTP server received for `address`, by subject."""

    async def arrived() -> list[Mail] | None:
        mine = [mail for mail in list(world.mail.received) if address in mail.to]
        return mine if len(mine) >= count else None

    mine = await eventually(arrived, within=30)
    assert len(mine) == count, [mail.subject for mail in mine]
    assert all(mail.to == [address] for mail in mine)
    return {mail.subject: mail for mail in mine}


async def shop_order(shop: httpx.AsyncClient, product_id: str, quantity: int) -> str:
    """A shop customer's paid order (`tok_visa`), once ordering has heard of the product."""
    body = {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }

    async def placed() -> str | None:
        answer = await shop.post("/api/v1/orders", json=body)
        return str(answer.json()["order_id"]) if answer.status_code == 201 else None

    return await eventually(placed)


async def test_a_pharmacy_order_goes_from_confirmation_to_delivery_and_its_buyer_hears_of_it(
    world: World,
) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    address = await address_of(world, ph)
    order_id = (await order(ph, [(product_id, 7)]))["order_id"]
    confirmed = await settled(ph.buyer, order_id)
    assert confirmed["status"] == "CONFIRMED"

    # when the operators release, scan and pack it, the carrier takes it, and it is delivered
    await release_and_pick(ops, order_id)
    shipment = await packed_and_shipped(ops, order_id)
    assert (await settled(ph.buyer, order_id, "SHIPPED"))["status"] == "SHIPPED"
    # once shipped it is too late to cancel: refused, and nothing is undone
    late = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert (late.status_code, late.json()["code"]) == (409, "invalid_order_transition"), late.text
    await deliver(ops, shipment, "Pharmacy counter")
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"
    steps = await fulfillment(ops, order_id, "completed")
    assert set(steps.values()) == {"succeeded"}

    # then the buyer got its confirmation, the shipment and the delivery, and nothing else
    logged = await mail_log(
        world,
        order_id,
        {("order_confirmed", "sent"), ("order_shipped", "sent"), ("order_delivered", "sent")},
    )
    assert {mail["to"] for mail in logged} == {address}
    mails = await mails_to(world, address, 3)
    assert set(mails) == {"Order confirmed", "Order shipped", "Order delivered"}
    assert confirmed["sales_order_number"] in mails["Order confirmed"].body
    assert order_id in mails["Order confirmed"].body
    tracking = shipment["tracking_number"]
    assert tracking.startswith("SHP-")
    assert f"Tracking number: {tracking}" in mails["Order shipped"].body
    assert "Carrier: UPS" in mails["Order shipped"].body
    assert order_id in mails["Order delivered"].body
    assert "Left at: Pharmacy counter" in mails["Order delivered"].body


async def test_a_paid_shop_order_goes_from_payment_to_delivery_and_its_customer_hears_of_it(
    world: World,
) -> None:
    deployed = world.deployed
    ops = world.ops(deployed.fulfillment)
    product_id = await create_product(deployed, unique("SHOP"), 5)  # no NDC: counted
    customer = deployed.customer()
    shop = deployed.ordering.client(customer["token"])
    order_id = await shop_order(shop, product_id, 2)
    await settled(shop, order_id, "processing")  # paid

    await release_and_pick(ops, order_id)
    shipment = await packed_and_shipped(ops, order_id)
    await deliver(ops, shipment, "Porch")
    assert (await settled(shop, order_id, "delivered"))["status"] == "delivered"

    # a shop order is confirmed once paid (its total as charged, no sales order number), then
    # its shipment and delivery are mailed
    logged = await mail_log(
        world,
        order_id,
        {("order_confirmed", "sent"), ("order_shipped", "sent"), ("order_delivered", "sent")},
    )
    assert {mail["to"] for mail in logged} == {customer["email"]}
    mails = await mails_to(world, customer["email"], 3)
    assert set(mails) == {"Order confirmed", "Order shipped", "Order delivered"}
    assert order_id in mails["Order confirmed"].body
    assert "Total: 99.98 USD" in mails["Order confirmed"].body
    assert "Sales order number" not in mails["Order confirmed"].body
    assert f"Tracking number: {shipment['tracking_number']}" in mails["Order shipped"].body
    assert shipment["tracking_number"].startswith("SHP-")
    assert "Left at: Porch" in mails["Order delivered"].body


async def undone(
    world: World,
    wire: Wire,
    customer: httpx.AsyncClient,
    address: str,
    order_id: str,
    mailed: set[tuple[str, str]],
    *undo: str,
) -> None:
    """What every cancel before shipping shows: the order cancelled, its shipment cancelled,
    nothing shipped, the customer told (besides its `mailed` mails); and the fulfillment's
    undo commands and their answers published in the order `undo`."""
    ops = world.ops(world.deployed.fulfillment)
    await settled(customer, order_id, "CANCELLED", "cancelled")

    async def shipment_cancelled() -> dict[str, Any] | None:
        [shipment] = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return dict(shipment) if shipment["status"] == "CANCELLED" else None

    assert (await eventually(shipment_cancelled))["tracking_number"] is None
    await mail_log(world, order_id, {*mailed, ("order_cancelled", "sent")})
    mails = await mails_to(world, address, len(mailed) + 1)
    assert order_id in mails["Order cancelled"].body

    async def published() -> list[str] | None:
        # the saga's own undoing: inventory also releases on `order.cancelled` by itself
        # (reason `cancelled`), and then answers the saga's release `nothing_held`
        told = [
            event["event_type"]
            for event in await wire.events(order_id)
            if event["event_type"] in UNDOING and event["data"].get("reason") != "cancelled"
        ]
        return told if len(told) >= len(undo) else None

    assert await eventually(published) == list(undo)
    told = set(await wire.types(order_id))
    assert not {"fulfillment.ship", "fulfillment.shipped", "pack.completed"} & told
    # and nothing is left for operators to look at
    listed = (await ops.get("/api/v1/fulfillment/escalations")).json()
    assert order_id not in {e["order_id"] for e in listed}, listed


async def all_back(world: World, product_id: str) -> None:
    """Once every unit of a `scanned_product` is on hand again, none held."""

    async def back() -> bool:
        return await lots_on_hand(world, product_id) == UNTOUCHED

    await eventually(back)
    position = await world.ops(world.deployed.inventory).get(f"/api/v1/inventory/{product_id}")
    assert position.json()["atp"] == 10, position.text
    held = {lot["lot"]: lot["reserved"] for lot in position.json()["lots"]}
    assert held == {"L100": 0, "L200": 0}


async def test_an_order_cancelled_while_it_waits_for_its_late_wave_gives_its_stock_back(
    world: World,
) -> None:
    async with tapped(world.deployed.backend) as wire:
        ops = world.ops(world.deployed.fulfillment)
        product_id, _ = await scanned_product(world)
        ph = pharmacy(world)
        order_id = (await order(ph, [(product_id, 6)]))["order_id"]
        assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
        wave = await wave_of(ops, order_id)

        async def escalated() -> bool:  # its wave is late: operators were told
            listed = (await ops.get("/api/v1/fulfillment/escalations")).json()
            return order_id in {e["order_id"] for e in listed}

        await eventually(escalated)

        # when the pharmacy cancels it before its wave goes to the floor
        cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then only the reservation is undone: nothing was picked
        assert await fulfillment(ops, order_id, "compensated") == {
            "validate": "succeeded",
            "reserve": "compensated",
            "wave": "failed",
            "pick": "pending",
            "pack": "pending",
            "ship": "pending",
            "deliver": "pending",
        }
        address = await address_of(world, ph)
        confirmed = {("order_confirmed", "sent")}
        undo = ("inventory.release", "inventory.released")
        await undone(world, wire, ph.buyer, address, order_id, confirmed, *undo)
        await all_back(world, product_id)
        # it left its wave: released later, the wave gives it no pick task
        shown = (await ops.get(f"/api/v1/waves/{wave['id']}")).json()
        assert order_id not in shown["order_ids"]
        assert (await ops.get("/api/v1/pick-tasks", params={"order_id": order_id})).json() == []


async def test_an_order_cancelled_while_its_picks_are_half_scanned_is_undone_in_reverse(
    world: World,
) -> None:
    async with tapped(world.deployed.backend) as wire:
        ops = world.ops(world.deployed.fulfillment)
        product_id, _ = await scanned_product(world)
        ph = pharmacy(world)
        order_id = (await order(ph, [(product_id, 7)]))["order_id"]
        assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
        wave = await wave_of(ops, order_id)
        assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
        tasks = {task["lot"]: task for task in await tasks_of(ops, order_id)}
        await pick(ops, tasks["L100"], 5)  # one lot's task closed
        await pick(ops, tasks["L200"], 1)  # the other's open, one unit of two scanned
        assert await lots_on_hand(world, product_id) == UNTOUCHED  # still on the floor

        # when the pharmacy cancels it
        cancelled = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then its picks are undone, then its reservation
        assert await fulfillment(ops, order_id, "compensated") == {
            "validate": "succeeded",
            "reserve": "compensated",
            "wave": "succeeded",
            "pick": "compensated",
            "pack": "pending",
            "ship": "pending",
            "deliver": "pending",
        }
        shown = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
        undone_at = {step["name"]: step["finished_at"] for step in shown["steps"]}
        assert undone_at["pick"] <= undone_at["reserve"]
        address = await address_of(world, ph)
        confirmed = {("order_confirmed", "sent")}
        await undone(world, wire, ph.buyer, address, order_id, confirmed, *UNDOING)
        await all_back(world, product_id)
        # the tasks are closed: the unit left in the hand cannot be scanned any more
        assert {t["status"] for t in await tasks_of(ops, order_id)} == {"CANCELLED"}
        expires = date.fromisoformat(tasks["L200"]["expires_on"])
        unit = barcode(tasks["L200"]["gtin"], "L200", expires, "LATE")
        late = await ops.post(
            f"/api/v1/pick-tasks/{tasks['L200']['id']}/scan", json={"barcode": unit}
        )
        assert (late.status_code, late.json()["code"]) == (409, "pick_task_closed")


async def test_a_mail_turned_off_is_not_sent_while_the_required_ones_are(world: World) -> None:
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    address = await address_of(world, ph)
    # given a buyer who wants no mail when its orders ship
    notifications = world.deployed.notifications.client(ph.admin_token)
    off = await notifications.put("/api/v1/notifications/preferences", json={"shipped": False})
    assert off.status_code == 200, off.text
    assert off.json() == {"shipped": False, "delivered": True}

    # when its order goes all the way
    order_id = (await order(ph, [(product_id, 3)]))["order_id"]
    confirmed = await settled(ph.buyer, order_id)
    assert confirmed["status"] == "CONFIRMED"
    await release_and_pick(ops, order_id)
    shipment = await packed_and_shipped(ops, order_id)
    await deliver(ops, shipment, "Back door")
    assert (await settled(ph.buyer, order_id, "DELIVERED"))["status"] == "DELIVERED"

    # then the confirmation (always sent) and the delivery arrive; the shipment is logged as
    # skipped and never sent
    await mail_log(
        world,
        order_id,
        {("order_confirmed", "sent"), ("order_shipped", "skipped"), ("order_delivered", "sent")},
    )
    mails = await mails_to(world, address, 2)
    assert set(mails) == {"Order confirmed", "Order delivered"}
    assert confirmed["sales_order_number"] in mails["Order confirmed"].body
    assert shipment["tracking_number"] not in "".join(mail.body for mail in mails.values())


async def test_a_paid_shop_order_cancelled_while_its_picks_are_half_counted_is_refunded(
    world: World,
) -> None:
    async with tapped(world.deployed.backend) as wire:
        deployed = world.deployed
        ops = world.ops(deployed.fulfillment)
        product_id = await create_product(deployed, unique("SHOP"), 5)  # no NDC: counted
        customer = deployed.customer()
        shop = deployed.ordering.client(customer["token"])
        order_id = await shop_order(shop, product_id, 3)
        await settled(shop, order_id, "processing")  # paid
        wave = await wave_of(ops, order_id)
        assert (await ops.post(f"/api/v1/waves/{wave['id']}/release")).status_code == 200
        [task] = await tasks_of(ops, order_id)
        await pick(ops, task, 1)  # one unit of three counted

        # when the customer cancels it
        cancelled = await shop.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then its picks and its reservation are undone, last first; it is refunded in full
        assert await fulfillment(ops, order_id, "compensated") == {
            "validate": "succeeded",
            "reserve": "compensated",
            "wave": "succeeded",
            "pick": "compensated",
            "pack": "pending",
            "ship": "pending",
            "deliver": "pending",
        }
        paid_for = {("order_confirmed", "sent")}  # confirmed once paid
        await undone(world, wire, shop, customer["email"], order_id, paid_for, *UNDOING)

        async def stock_back() -> bool:
            answer = await world.ops(deployed.inventory).get(f"/api/v1/inventory/{product_id}")
            return bool(answer.json()["atp"] == 5)

        await eventually(stock_back)
        payments = deployed.payments.client(customer["token"])

        async def refunded() -> dict[str, Any] | None:
            [paid] = (await payments.get(f"/api/v1/payments/order/{order_id}")).json()
            return dict(paid) if paid["status"] == "refunded" else None

        paid = await eventually(refunded)
        assert [refund["amount"] for refund in paid["refunds"]] == [paid["amount"]]


async def test_an_order_cancelled_as_it_is_packed_is_shipped_or_undone_never_both(
    world: World,
) -> None:
    """Packed, the carrier takes the order at once, and ordering hears so a moment later:
    a cancel in that moment is accepted by ordering while the parcel is on its way."""
    ops = world.ops(world.deployed.fulfillment)
    product_id, _ = await scanned_product(world)
    ph = pharmacy(world)
    order_id = (await order(ph, [(product_id, 6)]))["order_id"]
    assert (await settled(ph.buyer, order_id))["status"] == "CONFIRMED"
    await release_and_pick(ops, order_id)
    await waiting_to_pack(ops, order_id)

    # when the pharmacy cancels it the moment it is packed
    packed = await ops.post(f"/api/v1/pack-tasks/{order_id}/complete", json={"packages": 1})
    assert packed.status_code == 200, packed.text
    cancel = await ph.buyer.post(f"/api/v1/orders/{order_id}/cancel")

    if cancel.status_code == 409:
        # then either ordering knew it shipped: refused, and it ships
        assert cancel.json()["code"] == "invalid_order_transition", cancel.text
        assert (await shipped(ops, order_id))["tracking_number"].startswith("SHP-")
        return
    # or the cancel was taken: the warehouse honours it, shipped already or not (the
    # carrier is told to bring it back), every step undone in reverse and the units back
    assert cancel.status_code == 200, cancel.text
    steps = await fulfillment(ops, order_id, "compensated")
    assert steps == {
        "validate": "succeeded",
        "reserve": "compensated",
        "wave": "succeeded",
        "pick": "compensated",
        "pack": "compensated",
        "ship": "compensated",
        "deliver": steps["deliver"],  # `failed` if the carrier had it, else `pending`
    }
    shown = (await ops.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
    undone_at = {step["name"]: step["finished_at"] for step in shown["steps"]}
    assert undone_at["ship"] <= undone_at["pack"] <= undone_at["pick"] <= undone_at["reserve"]
    [shipment] = (await ops.get("/api/v1/shipments", params={"order_id": order_id})).json()
    assert shipment["status"] == "CANCELLED"
    await all_back(world, product_id)
    assert (await ph.buyer.get(f"/api/v1/orders/{order_id}")).json()["status"] == "CANCELLED"
