"""Every error leaves as RFC 9457 `application/problem+json` with a stable `code`."""

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly.kernel.errors import OrderlyError, problem

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem(status, code, title, detail, **jsonable_encoder(extensions))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _orderly_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OrderlyError)
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        error.response_headers,
        **error.extensions,
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in error.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            400, "malformed_json", "Malformed JSON", "the body is not valid JSON"
        )
    return problem_response(
        422,
        "validation_failed",
        "Request is not valid",
        "the request failed validation",
        errors=errors,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # FastAPI could not read the body (not UTF-8, say)
        return problem_response(
            400, "malformed_json", "Malformed JSON", "the body is not valid JSON"
        )
    code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
    headers = error.headers
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return problem_response(error.status_code, code, str(error.detail), str(error.detail), headers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at this path (RFC 9110 15.5.6). The router's own 405 names
    only those of the first route that matched, one of several here; and a literal path
    (`/products/check-availability`) is its own resource, not one of `/products/{id}`."""
    path = request.scope["path"]
    found: dict[int, set[str]] = {}
    for route in request.app.router.routes:
        allowed = getattr(route, "methods", None)
        regex = getattr(route, "path_regex", None)
        if allowed and regex is not None and regex.match(path):
            found.setdefault(len(route.param_convertors), set()).update(allowed)
    return sorted(found[min(found)]) if found else []


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path, error_type=type(error).__name__)
    return problem_response(
        500, "internal_error", "Internal error", "the request could not be completed"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(OrderlyError, _orderly_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413 problem+json, declared or chunked."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        if scope["method"] in {"GET", "HEAD", "OPTIONS", "DELETE"}:
            await self.app(scope, receive, send)
            return
        # Read the body first (bounded), so an oversized chunked body is refused as cleanly
        # as one that declared its length.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "payload_too_large", "Payload too large", f"the body exceeds {self.limit} bytes"
        )
        await response(scope, receive, send)
