"""How long inventory holds stock for carts and for orders not yet written, per deployment."""

import functools
from dataclasses import dataclass
from datetime import timedelta

from orderly.config import Settings


@dataclass(frozen=True)
class InventoryPolicy:
    # a cart line's hold lasts this long unless renewed (`ORDERLY_SOFT_RESERVATION_TTL`)
    soft_ttl: timedelta
    # no renewal keeps a cart's hold on a product past this, from when the cart first held it
    # (`ORDERLY_SOFT_HOLD_MAX_AGE`)
    soft_max_age: timedelta
    # a direct order's hold runs out after this unless its order.created confirms it
    # (`ORDERLY_ORDER_HOLD_TTL`)
    hold_ttl: timedelta


@functools.cache
def policy(settings: Settings) -> InventoryPolicy:
    return InventoryPolicy(
        soft_ttl=timedelta(seconds=settings.soft_reservation_ttl),
        soft_max_age=timedelta(seconds=settings.soft_hold_max_age),
        hold_ttl=timedelta(seconds=settings.order_hold_ttl),
    )
