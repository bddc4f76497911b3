"""What an order's payments came to, for whoever may see the order."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from orderly.kernel.batch import distinct, in_order_asked
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


async def payments_of_orders(
    db: Database, caller: Principal, order_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The payments of the orders asked, as `payments_of_order` shows each order's, in the
    order asked (each once), in two statements; an order the caller may not see, or with no
    payment, is left out."""
    wanted = distinct(order_ids)

    async def work(tx: Tx) -> list[dict[str, Any]]:
        rows = await tx.fetch_all(store.PAYMENTS_FOR_ORDERS, {"order_ids": wanted})
        seen = [row for row in rows if caller.may_see(row["owner_id"], row["account_id"])]
        if not seen:
            return []
        ids = [row["id"] for row in seen]
        refunds: dict[str, list[Row]] = defaultdict(list)
        for refund in await tx.fetch_all(store.REFUNDS_OF_PAYMENTS, {"payment_ids": ids}):
            refunds[refund["payment_id"]].append(refund)
        ordered = in_order_asked(wanted, seen, lambda row: row["order_id"])
        return [_payment_view(row, refunds[row["id"]]) for row in ordered]

    return await db.read(work)
