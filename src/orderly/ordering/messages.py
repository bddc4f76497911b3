"""Ordering's public messages."""

SOURCE = "sales-service"

# seed 001: {order_id, items: [{product_id, quantity}], shipping_address, ...}
ORDER_CREATED = "order.created"
# seed 000: a cart line was added or changed: {cartId, productId, quantity (the line's total),
# hold, customerId, accountId?}; inventory holds `hold` units (the line's quantity up to the
# customer's limit) for the cart.
CART_ITEM_ADDED = "cart.item.added"
# {cartId, productId}: the line left the cart; inventory lets its hold go.
CART_ITEM_REMOVED = "cart.item.removed"
# seed 002: {orderId, items, reason}: inventory gives the order's units back.
ORDER_CANCELLED = "order.cancelled"

# seed 002: {orderId, userId, totalAmount, currency, paymentMethod, accountId}: stock is
# reserved; payments charges the order.
ORDER_CONFIRMED = "order.confirmed"

# Orders are priced in one currency per deployment for now.
CURRENCY = "USD"

# The guarded checkout's saga commands (inventory's and payments' own words).
_SAGA_COMMANDS = ("inventory.reserve", "inventory.release", "payment.charge")

PUBLISHES = (
    ORDER_CREATED,
    CART_ITEM_ADDED,
    CART_ITEM_REMOVED,
    ORDER_CONFIRMED,
    ORDER_CANCELLED,
    *_SAGA_COMMANDS,
)
