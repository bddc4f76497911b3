"""Erp's message handlers."""

from orderly.erp.requests import create_sales_order

__all__ = ["create_sales_order"]
