"""Fulfillment: shipments, carriers, tracking and delivery."""
