"""The mails' texts, from the package's Jinja2 templates (`notifications/templates/`)."""

from dataclasses import dataclass
from typing import Any

import jinja2

from orderly.notifications.domain import Kind

# Plain text mail: nothing is escaped, and a missing value is an error, not a blank.
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("orderly.notifications", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Letter:
    kind: Kind
    template: str
    subject: str
    body: str


def _letter(kind: Kind, subject: str, values: dict[str, Any]) -> Letter:
    template = f"order_{kind.value}"
    body = _TEMPLATES.get_template(f"{template}.txt").render(values)
    return Letter(kind=kind, template=template, subject=subject, body=body)


def order_confirmed(**values: Any) -> Letter:
    return _letter(Kind.CONFIRMED, "Order confirmed", values)


def order_failed(**values: Any) -> Letter:
    return _letter(Kind.FAILED, "Order could not be placed", values)


def order_cancelled(**values: Any) -> Letter:
    return _letter(Kind.CANCELLED, "Order cancelled", values)


def order_held(**values: Any) -> Letter:
    return _letter(Kind.HELD, "Order held for review", values)


def order_shipped(**values: Any) -> Letter:
    return _letter(Kind.SHIPPED, "Order shipped", values)


def order_delivered(**values: Any) -> Letter:
    return _letter(Kind.DELIVERED, "Order delivered", values)
