"""A short pick, as the warehouse is configured (`ORDERLY_SHORT_PICK`), through the operators'
HTTP actions, in both modes: backordered, the order ships what was picked and the units
short wait as an open backorder (`fulfillment.backordered`), which an operator releases once
stock is received (refused while there is none) and which ships as a second shipment
through the same floor; cancelled, the order's line loses them (`fulfillment.line_cancelled`)
and the rest ships. Either way inventory took the units short off hand with the pick, holds
no reservation for them, and every unit received is on hand, reserved or gone."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BACKENDS, Deployment, shared_deployment
from tests.e2e.test_seed001_flow import ADDRESS, create_product
from tests.e2e.wire import Wire, tapped
from tests.services import unique
from tests.waiting import eventually

# waits on the floor last a second: the ones nobody ends are escalated at once
WAITS = {"ORDERLY_FLOOR_WAIT": "1", "ORDERLY_SWEEP_INTERVAL": "0.2"}


@pytest.fixture(scope="module", params=BACKENDS)
def backordering(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A deployment whose short picks are backordered (the default), released by operators."""
    tmp = tmp_path_factory.mktemp("backorders")
    settings = {**WAITS, "ORDERLY_BACKORDER_RELEASE": "manual"}
    with shared_deployment(request.param, tmp, **settings) as deployed:
        yield deployed


@pytest.fixture(scope="module", params=BACKENDS)
def cancelling(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A deployment whose short picks cancel the units short from their line."""
    tmp = tmp_path_factory.mktemp("cancel-line")
    settings = {**WAITS, "ORDERLY_SHORT_PICK": "cancel_line"}
    with shared_deployment(request.param, tmp, **settings) as deployed:
        yield deployed


def ops(deployed: Deployment) -> httpx.AsyncClient:
    client: httpx.AsyncClient = deployed.fulfillment.client(deployed.operator_token)
    return client


async def shop_order(deployed: Deployment, product_id: str, quantity: int) -> str:
    """A paid shop order of `quantity` units: the warehouse fulfils it."""
    return (await customer_order(deployed, product_id, quantity))[0]


async def customer_order(
    deployed: Deployment, product_id: str, quantity: int
) -> tuple[str, httpx.AsyncClient]:
    """A paid shop order of `quantity` units, and its customer."""
    customer = deployed.ordering.client(deployed.customer()["token"])
    body = {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_method": "tok_visa",
        "channel": "b2c",
    }

    async def placed() -> str | None:
        answer = await customer.post("/api/v1/orders", json=body)
        return str(answer.json()["order_id"]) if answer.status_code in (201, 202) else None

    return await eventually(placed), customer


async def released_tasks(floor: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    """The pick tasks under `key` (an order's id, or a released backorder's fulfillment id),
    once its wave is released."""

    async def waved() -> str | None:
        for wave in (await floor.get("/api/v1/waves", params={"status": "OPEN"})).json():
            if key in (await floor.get(f"/api/v1/waves/{wave['id']}")).json()["order_ids"]:
                return str(wave["id"])
        return None

    wave_id = await eventually(waved)
    released = await floor.post(f"/api/v1/waves/{wave_id}/release")
    assert released.status_code == 200, released.text

    async def made() -> list[dict[str, Any]] | None:
        tasks = (await floor.get("/api/v1/pick-tasks", params={"order_id": key})).json()
        return tasks or None

    return await eventually(made)


async def picked_short(floor: httpx.AsyncClient, key: str, found: int) -> dict[str, Any]:
    """Its one pick finds `found` units, and the shelf has no more: closed short."""
    [task] = await released_tasks(floor, key)
    counted = await floor.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": found})
    assert counted.status_code == 200, counted.text
    short = await floor.post(f"/api/v1/pick-tasks/{task['id']}/short")
    assert short.status_code == 200, short.text
    closed: dict[str, Any] = short.json()
    return closed


async def packed_and_shipped(floor: httpx.AsyncClient, key: str) -> None:
    async def waiting() -> bool:
        packs = (await floor.get("/api/v1/pack-tasks")).json()
        return any(pack["order_id"] == key for pack in packs)

    await eventually(waiting)
    packed = await floor.post(f"/api/v1/pack-tasks/{key}/complete")
    assert packed.status_code == 200, packed.text


async def shipment_of(floor: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        rows = (await floor.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return rows[0] if rows and rows[0]["status"] == "SHIPPED" else None

    shipment: dict[str, Any] = await eventually(found)
    return shipment


async def stock(deployed: Deployment, product_id: str) -> dict[str, Any]:
    """Inventory's figures for the product: on hand and hard-reserved, and each lot's."""
    inventory = deployed.inventory.client(deployed.operator_token)
    answer = await inventory.get(f"/api/v1/inventory/{product_id}")
    assert answer.status_code == 200, answer.text
    position: dict[str, Any] = answer.json()
    return position


async def settled_stock(deployed: Deployment, product_id: str, on_hand: int) -> dict[str, Any]:
    async def counted() -> dict[str, Any] | None:
        position = await stock(deployed, product_id)
        return position if position["on_hand"] == on_hand else None

    return await eventually(counted)


async def refunds(deployed: Deployment, order_id: str, n: int) -> dict[str, Any]:
    """The order's payment once `n` refunds of it are recorded."""
    payments = deployed.payments.client(deployed.operator_token)

    async def recorded() -> dict[str, Any] | None:
        answer = await payments.get(f"/api/v1/payments/order/{order_id}")
        found: list[dict[str, Any]] = answer.json() if answer.status_code == 200 else []
        return found[0] if found and len(found[0]["refunds"]) >= n else None

    return await eventually(recorded)


async def told(wire: Wire, order_id: str, kind: str, n: int = 1) -> list[dict[str, Any]]:
    """The `kind` messages published about the order, once there are `n`."""

    async def heard() -> list[dict[str, Any]] | None:
        found = [e["data"] for e in await wire.events(order_id) if e["event_type"] == kind]
        return found if len(found) >= n else None

    return await eventually(heard)


async def test_a_short_pick_ships_what_was_picked_and_backorders_the_rest(
    backordering: Deployment,
) -> None:
    deployed = backordering
    floor = ops(deployed)
    async with tapped(deployed.backend) as wire:
        # given a shelf said to hold four units, and an order of four
        product_id = await create_product(deployed, unique("BO"), 4)
        order_id = await shop_order(deployed, product_id, 4)

        # when the picker finds one unit and closes the pick short
        closed = await picked_short(floor, order_id, found=1)
        assert (closed["status"], closed["picked"], closed["short"]) == ("SHORT", 1, 3)

        # then the order ships the unit picked
        await packed_and_shipped(floor, order_id)
        shipment = await shipment_of(floor, order_id)
        assert shipment["tracking_number"].startswith("SHP-")

        # and the three units short are the order's open backorder, told to whoever listens
        [event] = await told(wire, order_id, "fulfillment.backordered")
        assert (event["productId"], event["quantity"]) == (product_id, 3)
        listed = (await floor.get("/api/v1/backorders", params={"status": "OPEN"})).json()
        [backorder] = [row for row in listed if row["order_id"] == order_id]
        assert backorder["id"] == event["backorderId"]
        assert (backorder["product_id"], backorder["quantity"], backorder["status"]) == (
            product_id,
            3,
            "OPEN",
        )
        shown = (await floor.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
        assert [row["id"] for row in shown["backorders"]] == [backorder["id"]]
        assert shown["cancelled_lines"] == []
        assert not await wire_has(wire, order_id, "fulfillment.line_cancelled")

    # stock is conserved: the shelf never had the units short, so inventory took them off
    # hand with the unit picked, and holds nothing for the backorder until it is released
    position = await settled_stock(deployed, product_id, on_hand=0)
    assert position["hard_reserved"] == 0
    assert [(lot["on_hand"], lot["reserved"]) for lot in position["lots"]] == [(0, 0)]


async def test_a_backorder_is_refused_without_stock_and_ships_once_stock_is_received(
    backordering: Deployment,
) -> None:
    deployed = backordering
    floor = ops(deployed)
    inventory = deployed.inventory.client(deployed.operator_token)
    async with tapped(deployed.backend) as wire:
        # given an order of four that shipped the one unit its shelf had
        product_id = await create_product(deployed, unique("BR"), 4)
        order_id = await shop_order(deployed, product_id, 4)
        await picked_short(floor, order_id, found=1)
        await packed_and_shipped(floor, order_id)
        first = await shipment_of(floor, order_id)
        [backordered] = await told(wire, order_id, "fulfillment.backordered")
        backorder_id = backordered["backorderId"]
        release = f"/api/v1/backorders/{backorder_id}/release"

        # when an operator releases its backorder before any stock came in, inventory cannot
        # reserve it: refused, and the backorder stays open
        refused = await floor.post(release)
        assert (refused.status_code, refused.json()["code"]) == (409, "backorder_out_of_stock")
        again = (await floor.get(f"/api/v1/backorders/{backorder_id}")).json()
        assert (again["status"], again["reason"]) == ("OPEN", "insufficient_stock")
        assert (await stock(deployed, product_id))["hard_reserved"] == 0

        # once five units are received, its three are reserved and it goes to the floor
        receipt = {"quantity": 5, "lot": "L2"}
        received = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        assert received.status_code == 201, received.text
        released = await floor.post(release)
        assert released.status_code == 200, released.text
        assert (released.json()["status"], released.json()["releases"]) == ("RELEASED", 2)
        key = released.json()["fulfillment_id"]
        assert (await stock(deployed, product_id))["hard_reserved"] == 3
        twice = await floor.post(release)
        assert (twice.status_code, twice.json()["code"]) == (409, "backorder_not_open")

        # a second shipment through the same floor: waved, picked from the new lot, packed
        [task] = await released_tasks(floor, key)
        assert (task["lot"], task["quantity"]) == ("L2", 3)
        counted = await floor.post(f"/api/v1/pick-tasks/{task['id']}/scan", json={"count": 3})
        assert (counted.status_code, counted.json()["status"]) == (200, "PICKED")
        await packed_and_shipped(floor, key)

        # the carrier takes it under a tracking number of its own: the backorder is fulfilled
        async def fulfilled() -> dict[str, Any] | None:
            shown = (await floor.get(f"/api/v1/backorders/{backorder_id}")).json()
            return shown if shown["status"] == "FULFILLED" else None

        done = await eventually(fulfilled)
        assert done["tracking_number"].startswith("SHP-")
        assert done["tracking_number"] != first["tracking_number"]
        shipped = await told(wire, order_id, "fulfillment.shipped", 2)
        assert [event["trackingNumber"] for event in shipped] == [
            first["tracking_number"],
            done["tracking_number"],
        ]
        shown = (await floor.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
        assert [row["status"] for row in shown["backorders"]] == ["FULFILLED"]
        listed = (await floor.get("/api/v1/backorders", params={"status": "OPEN"})).json()
        assert backorder_id not in [row["id"] for row in listed]

        # it is a second shipment of the order, told as seed 001 tells one, and mailed
        rows = (await floor.get("/api/v1/shipments", params={"order_id": order_id})).json()
        assert [(row["part"], row["backorder_id"], row["status"]) for row in rows] == [
            (0, None, "SHIPPED"),
            (1, backorder_id, "SHIPPED"),
        ]
        second = rows[1]
        assert (second["tracking_number"], second["items"]) == (
            done["tracking_number"],
            [{"product_id": product_id, "quantity": 3}],
        )
        assert shipped[1]["shipmentId"] == second["id"]
        updates = await told(wire, order_id, "order.status_updated", 2)
        assert done["tracking_number"] in [update.get("tracking_number") for update in updates]
        mails = deployed.notifications.client(deployed.operator_token)

        async def both_mailed() -> bool:
            found = await mails.get("/api/v1/notifications/mails", params={"order_id": order_id})
            bodies = [m["body"] for m in found.json() if m["template"] == "order_shipped"]
            return len(bodies) == 2 and done["tracking_number"] in bodies[1]

        await eventually(both_mailed)

        # the carrier delivers it as any shipment
        delivered = await floor.post(
            f"/api/v1/shipments/{second['id']}/deliver", json={"delivery_location": "Door"}
        )
        assert delivered.status_code == 200, delivered.text
        arrived = await told(wire, order_id, "fulfillment.delivered")
        assert arrived[-1]["shipmentId"] == second["id"]

    # received 4 + 5 = on hand 2 + reserved 0 + shipped 1 + 3, and the 3 the shelf never had
    position = await settled_stock(deployed, product_id, on_hand=2)
    assert position["hard_reserved"] == 0
    lots = {lot["lot"]: (lot["on_hand"], lot["reserved"]) for lot in position["lots"]}
    assert lots == {"INITIAL": (0, 0), "L2": (2, 0)}


async def test_an_operator_cancels_an_open_backorder_and_a_released_one_goes_with_its_order(
    backordering: Deployment,
) -> None:
    deployed = backordering
    floor = ops(deployed)
    inventory = deployed.inventory.client(deployed.operator_token)
    async with tapped(deployed.backend) as wire:
        # an operator cancels an open backorder: it will not ship, and says so
        product_id = await create_product(deployed, unique("BC"), 2)
        order_id = await shop_order(deployed, product_id, 2)
        await picked_short(floor, order_id, found=1)
        [backordered] = await told(wire, order_id, "fulfillment.backordered")
        path = f"/api/v1/backorders/{backordered['backorderId']}"
        gone = await floor.post(f"{path}/cancel")
        assert gone.status_code == 200, gone.text
        assert (gone.json()["status"], gone.json()["reason"]) == (
            "CANCELLED",
            "cancelled_by_operator",
        )
        [event] = await told(wire, order_id, "fulfillment.backorder_cancelled")
        assert (event["quantity"], event["reason"]) == (1, "cancelled_by_operator")
        # the customer paid for the unit that will not come: it is refunded
        payment = await refunds(deployed, order_id, 1)
        assert [refund["amount"] for refund in payment["refunds"]] == ["49.99"]
        for again in ("cancel", "release"):
            refused = await floor.post(f"{path}/{again}")
            assert (refused.status_code, refused.json()["code"]) == (409, "backorder_not_open")
        missing = await floor.post("/api/v1/backorders/no-such-backorder/cancel")
        assert (missing.status_code, missing.json()["code"]) == (404, "backorder_not_found")

        # given another order picked short, its backorder released with stock come in
        product_id = await create_product(deployed, unique("BC"), 3)
        order_id, customer = await customer_order(deployed, product_id, 3)
        await picked_short(floor, order_id, found=1)
        [backordered] = await told(wire, order_id, "fulfillment.backordered")
        receipt = {"quantity": 4, "lot": "L9"}
        received = await inventory.post(f"/api/v1/inventory/{product_id}/receipts", json=receipt)
        assert received.status_code == 201, received.text
        path = f"/api/v1/backorders/{backordered['backorderId']}"
        released = await floor.post(f"{path}/release")
        assert released.status_code == 200, released.text
        # its two are held; the order's unit picked is off hand already
        assert (await stock(deployed, product_id))["hard_reserved"] == 2
        held = await floor.post(f"{path}/cancel")
        assert (held.status_code, held.json()["code"]) == (409, "backorder_not_open")

        # when the customer cancels the order before it ships
        cancelled = await customer.post(f"/api/v1/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        # then the released backorder is undone and cancelled with it, its shipment too
        async def undone() -> dict[str, Any] | None:
            shown = (await floor.get(path)).json()
            return shown if shown["status"] == "CANCELLED" else None

        assert (await eventually(undone))["reason"] == "order_cancelled"
        [event] = await told(wire, order_id, "fulfillment.backorder_cancelled")
        assert (event["quantity"], event["reason"]) == (2, "order_cancelled")

        async def all_cancelled() -> list[dict[str, Any]] | None:
            found = await floor.get("/api/v1/shipments", params={"order_id": order_id})
            rows: list[dict[str, Any]] = found.json()
            return rows if all(row["status"] == "CANCELLED" for row in rows) else None

        rows = await eventually(all_cancelled)
        assert [row["backorder_id"] for row in rows] == [None, backordered["backorderId"]]
        # the order's cancellation gives all its money back, once: no credit for the backorder
        payment = await refunds(deployed, order_id, 1)
        assert [refund["amount"] for refund in payment["refunds"]] == ["149.97"]
        assert payment["status"] == "refunded"
        assert not await wire_has(wire, order_id, "order.credited")

    # nothing is held for either, and the unit picked is back on its shelf (not the two
    # the shelf never had: they stay lost)
    async def given_back() -> bool:
        position = await stock(deployed, product_id)
        return (position["hard_reserved"], position["on_hand"]) == (0, 1 + 4)

    await eventually(given_back)


async def test_a_short_pick_cancels_the_units_short_from_its_line_and_ships_the_rest(
    cancelling: Deployment,
) -> None:
    deployed = cancelling
    floor = ops(deployed)
    async with tapped(deployed.backend) as wire:
        product_id = await create_product(deployed, unique("CL"), 5)
        order_id = await shop_order(deployed, product_id, 5)

        closed = await picked_short(floor, order_id, found=2)
        assert (closed["status"], closed["picked"], closed["short"]) == ("SHORT", 2, 3)

        # the line loses the three units short; the two picked ship
        [event] = await told(wire, order_id, "fulfillment.line_cancelled")
        assert event == {"orderId": order_id, "productId": product_id, "quantity": 3}
        await packed_and_shipped(floor, order_id)
        await shipment_of(floor, order_id)
        shown = (await floor.get(f"/api/v1/fulfillment/orders/{order_id}")).json()
        assert [(line["product_id"], line["quantity"]) for line in shown["cancelled_lines"]] == [
            (product_id, 3)
        ]
        assert shown["backorders"] == []
        listed = (await floor.get("/api/v1/backorders")).json()
        assert order_id not in [row["order_id"] for row in listed]
        assert not await wire_has(wire, order_id, "fulfillment.backordered")

        # the customer is credited the three units' price, and it is refunded, once
        [credit] = await told(wire, order_id, "order.credited")
        assert (credit["quantity"], credit["amount"], credit["reason"]) == (
            3,
            "149.97",
            "line_cancelled",
        )
        payment = await refunds(deployed, order_id, 1)
        assert (payment["amount"], payment["status"]) == ("249.95", "captured")
        assert [refund["amount"] for refund in payment["refunds"]] == ["149.97"]
        sales = deployed.ordering.client(deployed.operator_token)
        order = (await sales.get(f"/api/v1/orders/{order_id}")).json()
        credited = [e for e in order["history"] if e["details"].get("credit_id")]
        assert [e["details"]["amount"] for e in credited] == ["149.97"]

    position = await settled_stock(deployed, product_id, on_hand=0)
    assert position["hard_reserved"] == 0


async def test_an_order_credited_for_a_cancelled_line_and_then_cancelled_is_refunded_the_rest(
    cancelling: Deployment,
) -> None:
    deployed = cancelling
    floor = ops(deployed)
    product_id = await create_product(deployed, unique("CR"), 4)
    order_id, customer = await customer_order(deployed, product_id, 4)
    await picked_short(floor, order_id, found=1)
    first = await refunds(deployed, order_id, 1)
    assert [refund["amount"] for refund in first["refunds"]] == ["149.97"]

    # cancelled before it ships: what is left of its payment goes back, not all of it
    cancelled = await customer.post(f"/api/v1/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    payment = await refunds(deployed, order_id, 2)
    assert [refund["amount"] for refund in payment["refunds"]] == ["149.97", "49.99"]
    assert (payment["amount"], payment["status"]) == ("199.96", "refunded")


async def wire_has(wire: Wire, order_id: str, kind: str) -> bool:
    return any(e["event_type"] == kind for e in await wire.events(order_id))
