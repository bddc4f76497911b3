"""What an order's payments came to, for whoever may see the order."""

from typing import Any

from orderly.kernel.errors import NotFound
from orderly.kernel.money import money
from orderly.kernel.principal import Principal
from orderly.payments import store
from orderly.storage import Database, Row, Tx


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "Payment not found"


def _payment_view(row: Row, refunds: list[Row]) -> dict[str, Any]:
    return {
        "payment_id": row["id"],
        "order_id": row["order_id"],
        "amount": money(row["amount_cents"]),
        "currency": row["currency"],
        "status": row["status"],
        "reason": row["reason"],
        "refunds": [
            {"refund_id": r["id"], "amount": money(r["amount_cents"]), "at": r["created_at"]}
            for r in refunds
        ],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def payments_of_order(db: Database, caller: Principal, order_id: str) -> list[dict[str, Any]]:
    """Seed 002's `GET /payments/order/:orderId`: the order's payments, to whoever may see
    the order; to anyone else there are none."""

    async def work(tx: Tx) -> list[dict[str, Any]]:
        row = await tx.fetch_one(store.PAYMENT_FOR_ORDER, {"order_id": order_id})
        if row is None or not caller.may_see(row["owner_id"], row["account_id"]):
            raise PaymentNotFound(f"no payment for order {order_id}")
        refunds = await tx.fetch_all(store.REFUNDS_OF, {"payment_id": row["id"]})
        return [_payment_view(row, refunds)]

    return await db.read(work)
