"""Every error leaves as RFC 9457 `application/problem+json` with a stable `code`."""

import json
import re
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly.kernel.errors import OrderlyError, problem

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

# FastAPI's own 400 is a body it could not parse (bytes that are not UTF-8, say): the same
# refusal as JSON that does not parse.
_HTTP_CODES = {
    400: "malformed_json",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


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
    found: dict[int, set[str]] = {}
    for route in request.app.router.routes:
        allowed = getattr(route, "methods", None)
        # a route that does not match the path at all, whatever the method (the web app's
        # pages never match the API's paths), offers no method here
        if allowed and isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            found.setdefault(len(route.param_convertors), set()).update(allowed)
    return sorted(found[min(found)]) if found else []


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    """The last resort, for an error raised outside `Edge`: Starlette raises it on after
    this answer and the server then drops the connection, so the answer says so."""
    log.exception("unhandled error", path=request.url.path, error_type=type(error).__name__)
    return _internal_error({"Connection": "close"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(OrderlyError, _orderly_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


# NUL, and UTF-16 surrogates alone, are text no database here keeps: PostgreSQL refuses NUL
# in text and UTF-8 cannot encode a lone surrogate. A JSON body can only carry them escaped.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNKEEPABLE = re.compile("[\x00\ud800-\udfff]")
# Past the limit, a body is read and dropped up to this many bytes more before the 413, so
# the client reads its answer instead of a reset (a socket closed with unread data resets);
# a larger one is answered at once, with `Connection: close`.
DRAIN_BYTES = 4 * 1024 * 1024
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# No id a path names is longer than a payment method's (`pm_` and a UUID), nor is any word of
# a route: a longer segment names nothing, and must not reach a column it does not fit.
MAX_SEGMENT = 40


def _holds_unkeepable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNKEEPABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_unkeepable(k) or _holds_unkeepable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_unkeepable(item) for item in value)
    return False


def unkeepable_body(body: bytes) -> bool:
    """Does this JSON body hold a NUL or a lone surrogate? Cheap when it cannot: only a body
    with such an escape is parsed (an escaped surrogate pair is one character, and allowed)."""
    if b"\\u" not in body or _SUSPECT_ESCAPE.search(body) is None:
        return False
    try:
        return _holds_unkeepable(json.loads(body))
    except (ValueError, RecursionError):  # not JSON, or too deep: the route answers that
        return False


class Edge:
    """The edge every request crosses, once: bodies over `limit` bytes get 413 (declared or
    chunked), text no database keeps gets 422 `invalid_character`, and an unexpected error
    gets a 500 problem on a connection that stays usable."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The path arrives percent-decoded; the query string raw, where NUL can only be %00.
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope["query_string"]:
            await _invalid_character(scope, receive, send)
            return
        if len(path) > MAX_SEGMENT and max(map(len, path.split("/"))) > MAX_SEGMENT:
            await _nothing_named(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, int(declared), 0)
            return
        if scope["method"] in _BODYLESS:
            await self._serve(scope, receive, send)
            return
        # Read the body first (bounded), so an oversized chunked body is refused as cleanly
        # as one that declared its length.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self._serve(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                more = message.get("more_body", False)
                await self._refuse(scope, receive, send, None, size if more else -1)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if unkeepable_body(body):
            await _invalid_character(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._serve(scope, replay, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application, with any error it did not expect answered here: Starlette's own
        last resort answers, then raises on, and the server drops the connection."""
        started = complete = False

        async def watched(message: Message) -> None:
            nonlocal started, complete
            started = True
            complete = message["type"] == "http.response.body" and not message.get("more_body")
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            if started and not complete:
                raise  # half an answer is out: only closing the connection tells the client
            log.exception("unhandled error", path=scope["path"], error_type=type(error).__name__)
            if not started:
                await _internal_error()(scope, receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, declared: int | None, read: int
    ) -> None:
        """413, after reading what is left of a body that is not much over the limit.
        `read`: bytes read so far, or -1 when the whole body was. A client that waits for
        `100 Continue` has sent nothing yet and is told to give up on the connection."""
        waiting = dict(scope["headers"]).get(b"expect", b"").lower() == b"100-continue"
        drained = read < 0 or (
            not waiting and await _drain(receive, declared, read, self.limit + DRAIN_BYTES)
        )
        response = problem_response(
            413,
            "payload_too_large",
            "Payload too large",
            f"the body exceeds {self.limit} bytes",
            None if drained else {"Connection": "close"},
        )
        await response(scope, receive, send)


async def _drain(receive: Receive, declared: int | None, read: int, bound: int) -> bool:
    """Read and drop the rest of the body, up to `bound` bytes in all; True if it all came."""
    if declared is not None and declared > bound:
        return False
    while read <= bound:
        message = await receive()
        if message["type"] != "http.request":
            return False
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


async def _nothing_named(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(
        404, "not_found", "Not found", f"no id here is longer than {MAX_SEGMENT} characters"
    )
    await response(scope, receive, send)


async def _invalid_character(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(
        422,
        "invalid_character",
        "Request holds a character that cannot be kept",
        "NUL characters and unpaired UTF-16 surrogates are refused in paths, queries and bodies",
    )
    await response(scope, receive, send)


def _internal_error(headers: Mapping[str, str] | None = None) -> JSONResponse:
    return problem_response(
        500, "internal_error", "Internal error", "the request could not be completed", headers
    )
