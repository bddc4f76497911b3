"""A route's own refusals, declared beside it for the OpenAPI document."""

from typing import Any

from orderly.kernel.errors import OrderlyError

# A route's own refusals travel to the document's builder under this key of its `responses=`.
CODES = "x-orderly-codes"


def refuses(*errors: type[OrderlyError]) -> dict[int | str, dict[str, Any]]:
    """A route's own refusals, for its `responses=`; the OpenAPI document turns them into
    problems."""
    answers: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        answer = answers.setdefault(error.status, {CODES: {}})
        answer[CODES][error.code] = error.title
    return answers
