"""Running Orderly: `orderly migrate` and `orderly serve`."""

import asyncio
import logging
import os
from typing import Annotated

import typer

from orderly.config import Settings, redact
from orderly.entrypoints.cli import deployment
from orderly.entrypoints.cli.terminal import console, fail
from orderly.startup import StartupError, open_databases, unreachable


def migrate() -> None:
    """Create or upgrade every context's tables."""
    settings = deployment.settings()
    deployment.migrate(settings)
    console.print(f"migrated {', '.join(settings.contexts)} in {redact(settings.database_url)}")


def _preflight(settings: Settings) -> None:
    """Fail fast, in one line, when the database or the broker cannot be used."""
    import aio_pika

    # The broker clients log each failed connect; the one line below says it all.
    for noisy in ("aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    deployment.migrate(settings)

    async def check() -> None:
        databases = await open_databases(settings)
        for db in databases.values():
            await db.close()
        if settings.broker_url:
            try:
                connection = await aio_pika.connect(settings.broker_url, timeout=10)
            except Exception as error:
                raise StartupError(unreachable("broker", settings.broker_url, error)) from None
            await connection.close()

    try:
        asyncio.run(check())
    except StartupError as error:
        raise fail(str(error), 2) from None


_BFF_PORTS = {"bff-web": 3010, "bff-mobile": 3011}


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    contexts: Annotated[
        str | None, typer.Option(help="Comma-separated contexts to serve (default: all).")
    ] = None,
    relay: Annotated[bool, typer.Option(help="Run the outbox relay in this process.")] = True,
) -> None:
    """Serve the HTTP API with its consumers, relay and retry workers."""
    if contexts:
        os.environ["ORDERLY_CONTEXTS"] = contexts
        # a BFF served alone listens on seed 002's port unless told otherwise
        port = port or _BFF_PORTS.get(contexts.strip())
    if not relay:
        os.environ["ORDERLY_RELAY_ENABLED"] = "false"
    settings = deployment.settings(host=host, port=port)
    _preflight(settings)
    # the preflight migrated; the server's worker need not do it again
    os.environ["ORDERLY_MIGRATE_ON_START"] = "false"
    mode = "embedded" if settings.embedded else "distributed"
    transport = redact(settings.broker_url) if settings.broker_url else "in-process"
    console.print(
        f"Orderly {mode}: contexts {', '.join(settings.contexts) or 'none'}; "
        f"BFFs {', '.join(settings.bffs) or 'none'}; "
        f"database {redact(settings.database_url)}; transport {transport}; "
        f"relay {'on' if settings.relay_enabled else 'off'}"
    )
    console.print(f"serving http://{settings.host}:{settings.port} (OpenAPI at /docs)")
    import uvicorn

    from orderly.entrypoints.protocol import bounded_protocol

    # uvicorn serves on the application's own event loop (uvloop where it is installed, and
    # httptools): a request is read, handled and answered on one thread, which on a host whose
    # cores are busy answers sooner than a server that hands each request across threads
    # (docs/performance.md).
    uvicorn.run(
        "orderly.entrypoints.web:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="auto",
        http=bounded_protocol(settings.max_header_bytes),
        # X-Forwarded-For names the client only when a configured proxy sent it
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        log_config=None,  # Orderly's logging, configured by the factory
        access_log=False,
        server_header=False,
    )
