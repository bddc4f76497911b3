"""An order's mails over real HTTP, from a running server to a real SMTP server: a customer
who turned delivered mails off hears its order shipped (with the carrier's tracking
number) but not delivered, and hears of a cancellation whatever it chose."""

from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import embedded, stocked
from tests.smtp import SmtpServer
from tests.waiting import eventually

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
TRACKING = "TRK-NOTIFY-0001"


async def product(operator: httpx.AsyncClient, sku: str) -> str:
    body = {"name": f"Product {sku}", "sku": sku, "price": "9.99", "description": "", "stock": 10}
    created = await operator.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    await stocked(operator, product_id, 10)
    return product_id


async def place(customer: httpx.AsyncClient, product_id: str) -> str:
    body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
    placed = await customer.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    return order_id


async def shipment_of(client: httpx.AsyncClient, order_id: str) -> str:
    async def found() -> str | None:
        answer = await client.get("/api/v1/shipments", params={"order_id": order_id})
        shipments: list[dict[str, Any]] = answer.json()
        return str(shipments[0]["id"]) if shipments else None

    return await eventually(found)


async def mails(operator: httpx.AsyncClient, order_id: str, count: int) -> list[dict[str, Any]]:
    """The order's `count` mails in the log, once none of them waits to be sent."""

    async def settled() -> list[dict[str, Any]] | None:
        answer = await operator.get("/api/v1/notifications/mails", params={"order_id": order_id})
        logged: list[dict[str, Any]] = answer.json()
        done = len(logged) == count and all(mail["status"] != "queued" for mail in logged)
        return logged if done else None

    return await eventually(settled)


async def test_an_orders_mails_follow_the_customers_choice(tmp_path: Path) -> None:
    async with SmtpServer() as smtp:
        with embedded(tmp_path, ORDERLY_SMTP_URL=smtp.url) as server:
            user = server.register_customer()
            async with (
                server.client(server.login()) as operator,
                server.client(user["token"]) as customer,
            ):
                # given a customer who turned delivered mails off, and two orders of its
                off = await customer.put(
                    "/api/v1/notifications/preferences", json={"delivered": False}
                )
                assert off.status_code == 200, off.text
                product_id = await product(operator, "NOTIFY-1")
                sent_off = await place(customer, product_id)
                called_off = await place(customer, product_id)

                # when the warehouse ships and delivers one, and the customer cancels the other
                shipment = await shipment_of(operator, sent_off)
                ship = await operator.post(
                    f"/api/v1/shipments/{shipment}/ship",
                    json={"tracking_number": TRACKING, "carrier": "FedEx"},
                )
                assert ship.status_code == 200, ship.text
                deliver = await operator.post(
                    f"/api/v1/shipments/{shipment}/deliver",
                    json={"delivered_at": "2026-01-17T16:45:00Z", "delivery_location": "Porch"},
                )
                assert deliver.status_code == 200, deliver.text
                cancel = await customer.post(f"/api/v1/orders/{called_off}/cancel")
                assert cancel.status_code == 200, cancel.text

                # then the shipment and the cancellation are mailed; the delivery is not
                shipped_log = await mails(operator, sent_off, 2)
                assert {(m["template"], m["status"]) for m in shipped_log} == {
                    ("order_shipped", "sent"),
                    ("order_delivered", "skipped"),
                }
                [cancelled_log] = await mails(operator, called_off, 1)
                assert (cancelled_log["template"], cancelled_log["status"]) == (
                    "order_cancelled",
                    "sent",
                )
                arrived = await smtp.wait_for(2)
                by_subject = {mail.subject: mail for mail in arrived}
                assert set(by_subject) == {"Order shipped", "Order cancelled"}
                assert by_subject["Order shipped"].recipients == [user["email"]]
                assert TRACKING in by_subject["Order shipped"].body
                assert "FedEx" in by_subject["Order shipped"].body
                assert called_off in by_subject["Order cancelled"].body
                assert len(smtp.received) == 2
