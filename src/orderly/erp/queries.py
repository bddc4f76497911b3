"""What the ERP was asked for an order, and what it answered, for operators."""

from typing import Any

from orderly.erp import store
from orderly.kernel.errors import NotFound
from orderly.storage import Database, Tx


class SalesOrderNotFound(NotFound):
    code = "sales_order_not_found"
    title = "Sales order not found"


async def sales_order_of(db: Database, order_id: str) -> dict[str, Any]:
    """The order's sales order request: its status, and the sales order number once made."""

    async def work(tx: Tx) -> dict[str, Any]:
        request = await store.request(tx, order_id)
        made = await store.sales_order(tx, order_id)
        if request is None and made is None:
            raise SalesOrderNotFound(f"no sales order was asked for order {order_id}")
        return {
            "order_id": order_id,
            "sales_order_number": made["number"] if made else None,
            "status": request["status"] if request else store.CREATED,
            "run": request["run"] if request else None,
            "reason": request["reason"] if request else None,
            "detail": request["detail"] if request else None,
            "attempts": request["attempts"] if request else 0,
            "requested_at": request["requested_at"] if request else None,
            "created_at": made["created_at"] if made else None,
        }

    return await db.read(work)
