"""Seed 004's topics: the warehouse's events under names of their own on the broker."""

from collections.abc import Mapping

# topic → publishing context → routing keys: message types, or AMQP topic patterns (`*` one
# word, `#` any number). Events only: the commands that share a prefix with them
# (`fulfillment.ship`, `fulfillment.shipment.cancel`, `order.checkout_retry`) are left out.
WMS_TOPICS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "wms.orders.events": {
        "ordering": (
            "order.created",
            "order.confirmed",
            "order.approved",
            "order.rejected",
            "order.failed",
            "order.cancelled",
            "order.credited",
        ),
        # seed 001's word that an order shipped or was delivered, which the warehouse says
        "fulfillment": ("order.status_updated",),
    },
    "wms.waves.events": {"fulfillment": ("wave.*",)},
    # with what a short pick did to the units the shelf did not have
    "wms.picking.events": {
        "fulfillment": (
            "pick.*",
            "fulfillment.backordered",
            "fulfillment.backorder_cancelled",
            "fulfillment.line_cancelled",
        )
    },
    "wms.packing.events": {"fulfillment": ("pack.*",)},
    "wms.shipping.events": {
        "fulfillment": (
            "fulfillment.shipped",
            "fulfillment.delivered",
            "fulfillment.shipment.cancelled",
            "fulfillment.shipment.failed",
        ),
    },
    "wms.inventory.events": {"inventory": ("inventory.*",)},
}
