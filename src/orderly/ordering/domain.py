"""Order rules: what an order may hold and which status changes are allowed."""

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from orderly.kernel.errors import OrderlyError, Unprocessable


class OrderStatus(StrEnum):
    PENDING_SHIPMENT = "PENDING_SHIPMENT"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


# Delivery only moves forward: a late or repeated report never undoes a newer status.
_DELIVERY_PROGRESS = {
    OrderStatus.PENDING_SHIPMENT: 0,
    OrderStatus.SHIPPED: 1,
    OrderStatus.DELIVERED: 2,
}


class DuplicateProduct(Unprocessable):
    code = "duplicate_product"
    title = "A product appears on more than one line"


class InsufficientStock(OrderlyError):
    code = "insufficient_stock"
    title = "Product unavailable"


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int


def check_lines(lines: list[Line]) -> None:
    repeated = sorted(pid for pid, n in Counter(line.product_id for line in lines).items() if n > 1)
    if repeated:
        raise DuplicateProduct(
            f"each product may appear once per order: {', '.join(repeated)}",
            product_ids=repeated,
        )


def delivery_transition(current: str, reported: str) -> OrderStatus | None:
    """The status an order moves to when delivery reports `reported`, or None if stale."""
    try:
        now, new = OrderStatus(current), OrderStatus(reported)
    except ValueError:
        return None
    if now not in _DELIVERY_PROGRESS or _DELIVERY_PROGRESS[new] <= _DELIVERY_PROGRESS[now]:
        return None
    return new
