"""A stand-in OTLP/HTTP collector on a thread of the test's process, which reads what it is
sent as a collector does."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Collector:
    """An OTLP/HTTP endpoint: what each request carried, after refusing the first `refuse`
    of them with 503."""

    def __init__(self, refuse: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.refused = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if collector.refused < refuse:
                    collector.refused += 1
                    self.send_response(503)
                else:
                    sent = ExportTraceServiceRequest.FromString(body)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    collector.requests.append((headers, sent))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[object]:
        return [
            span
            for _, request in self.requests
            for resource in request.resource_spans
            for scoped in resource.scope_spans
            for span in scoped.spans
        ]


@contextmanager
def serving(refuse: int = 0) -> Iterator[Collector]:
    """A collector answering on its own thread while the block runs."""
    made = Collector(refuse=refuse)
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()
