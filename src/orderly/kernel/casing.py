"""Keys in snake_case: how the contexts' REST answers (docs/api.md), also for what they show
of the camelCase messages (a saga's data, an order's history notes)."""

import re
from typing import Any

_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(value: Any) -> Any:
    """`value` with every key of every mapping in it in snake_case (`orderId` → `order_id`)."""
    if isinstance(value, dict):
        return {_HUMP.sub(r"_\1", key).lower(): snake(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake(item) for item in value]
    return value
