"""Payments: payment methods as gateway tokens, payments per order, refunds."""
