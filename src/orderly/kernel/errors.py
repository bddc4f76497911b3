"""Errors that reach a caller as RFC 9457 problems with a stable code."""

from collections.abc import Mapping
from typing import Any, ClassVar


class OrderlyError(Exception):
    """A refusal the caller can act on: `code` is stable, `status` is the HTTP status."""

    status = 400
    code = "bad_request"
    title = "Bad request"
    headers: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.response_headers: dict[str, str] = dict(self.headers or {})

    def with_headers(self, headers: Mapping[str, str]) -> "OrderlyError":
        self.response_headers.update(headers)
        return self


class NotFound(OrderlyError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(OrderlyError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(OrderlyError):
    status = 422
    code = "validation_failed"
    title = "Request is not valid"


class Unauthorized(OrderlyError):
    status = 401
    code = "authentication_required"
    title = "Authentication required"
    headers: ClassVar[Mapping[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Unavailable(OrderlyError):
    status = 503
    code = "dependency_unavailable"
    title = "A service this request needs is unavailable"


def problem(status: int, code: str, title: str, detail: str, **extensions: Any) -> dict[str, Any]:
    reserved = {"type", "title", "status", "detail", "code"} & extensions.keys()
    if reserved:
        raise ValueError(f"problem extensions may not override {sorted(reserved)}")
    return {
        "type": f"https://orderly.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }
