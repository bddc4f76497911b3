"""Catalog: products, their stock, and the availability check."""
