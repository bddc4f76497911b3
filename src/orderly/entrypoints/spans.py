"""The process a server's spans are exported from (`tracing.forwarding`): it reads batches
from its stdin and posts them to the collector until the pipe closes."""

import asyncio
import contextlib
import os

import orjson

from orderly.observability import configure_logging
from orderly.tracing.forwarding import SETTINGS, forward


def main() -> None:
    configure_logging()
    # in a session of its own: it ends once the server has sent it the last spans and
    # closed the pipe, or has died
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forward(orjson.loads(os.environ.pop(SETTINGS))))


if __name__ == "__main__":
    main()
