"""The mails' texts, from the package's Jinja2 templates (`notifications/templates/`)."""

from dataclasses import dataclass
from typing import Any

import jinja2

# Plain text mail: nothing is escaped, and a missing value is an error, not a blank.
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("orderly.notifications", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Letter:
    template: str
    subject: str
    body: str


def _letter(template: str, subject: str, values: dict[str, Any]) -> Letter:
    body = _TEMPLATES.get_template(f"{template}.txt").render(values)
    return Letter(template=template, subject=subject, body=body)


def order_confirmed(**values: Any) -> Letter:
    return _letter("order_confirmed", "Order confirmed", values)


def order_failed(**values: Any) -> Letter:
    return _letter("order_failed", "Order could not be placed", values)
