"""What goes on the wire: the contexts' REST answers in snake_case, money as a decimal string
(docs/api.md). Kept here for what a route shows from elsewhere: a saga's data, which mirrors
the camelCase messages it sends, and rows a service keeps in the messages' words."""

import re
from decimal import Decimal
from typing import Any

_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(value: Any) -> Any:
    """`value` with every key of every mapping in it in snake_case (`orderId` → `order_id`)."""
    if isinstance(value, dict):
        return {_HUMP.sub(r"_\1", key).lower(): snake(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake(item) for item in value]
    return value


def money(amount: Decimal | None) -> str | None:
    """An amount as the wire shows money: a decimal string with its cents (`12.50`)."""
    return None if amount is None else f"{amount:.2f}"
