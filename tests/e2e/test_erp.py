"""The ERP context in a running server: its caller calls the simulated ERP for a request the
checkout's command recorded, and operators read the order's sales order over HTTP."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from orderly.erp.context import CONTEXT
from orderly.erp.messages import CreateSalesOrder, SalesOrderLine
from orderly.kernel.ids import new_id
from orderly.messaging import new_message
from orderly.storage import open_database
from tests.bus import Bus
from tests.e2e.server import embedded
from tests.erp_sim import running_simulator
from tests.waiting import eventually


async def record_command(tmp_path: Path, order_id: str) -> None:
    """`erp.sales_order.create` handled in the server's ERP database, as the checkout's
    command is (the server's caller, polling, finds the request)."""
    db = await open_database(f"sqlite:///{tmp_path / 'var'}", "erp")
    try:
        line = SalesOrderLine(product_id="prod-1", quantity=2, price=Decimal("5.00"))
        request = CreateSalesOrder(
            order_id=order_id,
            run=1,
            account_id="acct-1",
            ship_to={},
            items=[line],
            total_amount=Decimal("10.00"),
            currency="USD",
        )
        sent = new_message(request, source="ordering-service", saga_id=order_id)
        await Bus(CONTEXT, db).deliver(sent)
    finally:
        await db.close()


async def test_an_operator_reads_the_sales_order_the_erp_made(tmp_path: Path) -> None:
    with (
        running_simulator(tmp_path) as sim,
        embedded(tmp_path, ORDERLY_ERP_URL=sim.url, ORDERLY_SWEEP_INTERVAL="0.2") as server,
    ):
        operator = server.client(server.login())
        customer = server.client(server.register_customer()["token"])
        order_id = new_id()
        async with operator, customer:
            # an order no sales order was asked for
            missing = await operator.get(f"/api/v1/erp/sales-orders/{order_id}")
            assert missing.status_code == 404
            assert missing.json()["code"] == "sales_order_not_found"

            await record_command(tmp_path, order_id)

            async def made() -> dict[str, Any] | None:
                answer = await operator.get(f"/api/v1/erp/sales-orders/{order_id}")
                body: dict[str, Any] = answer.json()
                return body if body.get("status") == "created" else None

            sales_order = await eventually(made)
            assert sales_order["sales_order_number"] == sim.orders(order_id)["number"]
            # to anyone but an operator it does not exist
            hidden: httpx.Response = await customer.get(f"/api/v1/erp/sales-orders/{order_id}")
            assert hidden.status_code == 404
            assert hidden.json()["code"] == "not_found"
