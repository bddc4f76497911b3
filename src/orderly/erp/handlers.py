"""Erp's message handlers."""

from orderly.erp.requests import (
    cancel_on_order_cancelled,
    create_sales_order,
    credit_on_order_credited,
)

__all__ = ["cancel_on_order_cancelled", "create_sales_order", "credit_on_order_credited"]
