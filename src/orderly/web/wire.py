"""What goes on the wire: the contexts' REST answers in snake_case, money as a decimal string
(docs/api.md)."""

from decimal import Decimal

from orderly.kernel.casing import snake

__all__ = ["money", "snake"]


def money(amount: Decimal | None) -> str | None:
    """An amount as the wire shows money: a decimal string with its cents (`12.50`)."""
    return None if amount is None else f"{amount:.2f}"
