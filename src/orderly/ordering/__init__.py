"""Ordering: orders, their lines and history, and the checkout flows."""
