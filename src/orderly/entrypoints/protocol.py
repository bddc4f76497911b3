"""The HTTP/1.1 protocol `serve` runs: uvicorn's, with a bound on what a request's head holds."""

from http import HTTPStatus
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orderly.kernel.errors import problem

MAX_HEADERS = 100


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the parser stops before the request reaches the app."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a request whose line and headers pass `max_head_bytes`, or that has more than
    `MAX_HEADERS` headers, with 431 and a closed connection. uvicorn keeps every header in
    memory and the parser gathers a header value whole before handing it over: without a
    bound, one request could hold as much memory as it cares to send."""

    max_head_bytes = 16_384

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False
        self._head_bytes = 0  # of the URL and the headers handed over so far
        self._head_reads = 0  # of whole reads that went to a head not finished yet
        self._header_count = 0
        self._too_large = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._head_reads = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._count(len(name) + len(value) + 4)  # with ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes or self._header_count > MAX_HEADERS:
            self._too_large = True
            raise _HeadTooLarge

    def data_received(self, data: bytes) -> None:
        was_in_head = self._in_head
        super().data_received(data)
        # A read that began and ended inside one head was all head, even the part of a header
        # the parser is still gathering (a read in which the head began may also hold the end
        # of the request before: it is not counted, so no request is refused wrongly).
        if was_in_head and self._in_head and not self.transport.is_closing():
            self._head_reads += len(data)
            if self._head_reads > self.max_head_bytes:
                self._refuse()

    def send_400_response(self, msg: str) -> None:
        """What the parser refused (a NUL in a header, a malformed line), as a problem too."""
        if self._too_large:
            self._refuse()
            return
        self._close_with(
            problem(400, "malformed_request", "Malformed request", "the request is not valid HTTP")
        )

    def _refuse(self) -> None:
        self._close_with(
            problem(
                431,
                "header_fields_too_large",
                "Request header fields too large",
                f"the request line and headers exceed {self.max_head_bytes} bytes"
                f" or {MAX_HEADERS} headers",
            )
        )

    def _close_with(self, answer: dict[str, Any]) -> None:
        body = orjson.dumps(answer)
        status = answer["status"]
        head = (
            b"HTTP/1.1 %d %s\r\ncontent-type: application/problem+json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n"
            % (status, HTTPStatus(status).phrase.encode(), len(body))
        )
        self.transport.write(head + body)
        self.transport.close()


def bounded_protocol(max_head_bytes: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for one server, with its bound (uvicorn builds it by class)."""
    return type(
        "BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"max_head_bytes": max_head_bytes}
    )
