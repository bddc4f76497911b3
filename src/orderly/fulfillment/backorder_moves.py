"""A backorder cancelled: moved from the status it was read in, and told
(`fulfillment.backorder_cancelled`), whoever cancels it (an operator, its order undone, its
released shipment undone with its order)."""

from orderly.fulfillment import store
from orderly.fulfillment.domain import BackorderStatus
from orderly.fulfillment.messages import SOURCE, BackorderCancelled
from orderly.kernel.clock import utcnow
from orderly.messaging import emit, new_message
from orderly.storage import Row, Tx


async def cancelled(tx: Tx, backorder: Row, expected: BackorderStatus, reason: str) -> bool:
    """Cancel the backorder, if it is still `expected` (`fulfillment.backorder_cancelled`);
    whether it was."""
    params = {
        "id": backorder["id"],
        "status": BackorderStatus.CANCELLED.value,
        "expected": expected.value,
        "reason": reason,
        "at": utcnow(),
    }
    if not await tx.execute(store.MOVE_BACKORDER, params):
        return False
    told = BackorderCancelled(
        backorder_id=backorder["id"],
        order_id=backorder["order_id"],
        product_id=backorder["product_id"],
        quantity=int(backorder["quantity"]),
        reason=reason,
    )
    await emit(tx, new_message(told, source=SOURCE, aggregate_id=backorder["order_id"]))
    return True
