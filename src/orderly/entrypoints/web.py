"""The ASGI application: every context's routes over one runtime."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Response

from orderly import __version__, tracing
from orderly.bff import graph_api, mobile_api, web_api, wiring
from orderly.bff.answers import Answers
from orderly.bff.graph import known_product
from orderly.bootstrap import Runtime, context_specs
from orderly.config import Settings, load_settings
from orderly.entrypoints import admin, figures, openapi, problems, readiness, webapp
from orderly.entrypoints.readiness import NotReady
from orderly.observability import (
    AccessLog,
    RequestMetrics,
    access_log_on,
    configure_logging,
    metrics_response,
)
from orderly.web.auth import Operator, operator, principal
from orderly.web.dependencies import CurrentRuntime
from orderly.web.refusals import refuses

_BUSIEST_FIRST = (
    "ordering",
    "inventory",
    "catalog",
    "payments",
    "fulfillment",
    "pricing",
    "compliance",
    "erp",
    "notifications",
    "history",
    "identity",
)


GC_YOUNG = 10_000  # objects allocated and not yet freed before a young collection


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    tracing.configure(
        settings.tracing, settings.otlp_endpoint, settings.service_name, settings.tracing_sample
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, run_migrations=settings.migrate_on_start)
        app.state.runtime = runtime
        app.state.bff = wiring.contexts(settings, runtime.databases, app)
        app.state.answers = None
        # the product page's answers, where BFF-web serves `/graphql` (docs/cache.md)
        if "bff-web" in settings.bffs and runtime.cache is not None and settings.page_cache_ttl:
            shared = runtime.product_cache is not None or bool(settings.cache_url)
            app.state.answers = Answers(
                runtime.cache, settings.page_cache_ttl, known_product, products_shared=shared
            )
            await app.state.answers.listen(runtime.transport)
        # What start-up built lives as long as the process: the collector need not walk it
        # again on every full collection (those pauses were the tail of request latency).
        gc.freeze()
        # Almost everything a request or a message makes is freed by its reference count; a
        # young collection every 700 objects kept found little and cost 0.05 ms of CPU a B2C
        # checkout (0.08 with every trace recorded), one every 10,000 a fifth of that, with a
        # pause of about 3 ms a few times a second at full load (docs/performance.md).
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            if app.state.bff is not None:
                await app.state.bff.close()
            await runtime.stop()
            await tracing.drain()

    app = FastAPI(
        title="Orderly",
        version=__version__,
        summary="Event-driven order management",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
    )
    problems.install(app)
    openapi.install(app)
    app.add_middleware(problems.Edge, limit=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)  # outside the edge: its refusals are counted too
    if access_log_on(settings.embedded):
        app.add_middleware(AccessLog)  # outermost: the edge's refusals are logged too
    if tracing.ON:  # outside the access log, whose lines then carry the request's trace
        app.add_middleware(tracing.TracedRequests)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        """The process answers: a supervisor restarts it when this stops answering."""
        return {"status": "live"}

    @app.get("/health/ready", tags=["health"], responses=refuses(NotReady))
    async def ready(run: CurrentRuntime) -> dict[str, str]:
        """Every database of this process answers: a load balancer sends it requests."""
        await readiness.check(run.databases)
        return {"status": "ready"}

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics(_: Operator, run: CurrentRuntime) -> Response:
        await figures.refresh(run.databases)
        body, content_type = metrics_response()
        return Response(body, media_type=content_type)

    # The gateway: every context's routes need a valid token, and admin routes an operator.
    # Identity and fulfillment guard their own routes one by one, since login and
    # registration are open and an external WMS reports with the service key.
    # A request is matched against the routes in order, so the busiest come first (no two
    # routes of one method overlap, so the order changes nothing else).
    # The BFFs' few routes come first: `/graphql` is as busy as any, and would otherwise be
    # matched against every context's routes before its own.
    _include_bffs(app, settings)
    specs = context_specs()
    for name in sorted(settings.contexts, key=_BUSIEST_FIRST.index):
        guard = [] if specs[name].guards_own_routes else [Depends(principal)]
        app.include_router(specs[name].router, dependencies=guard)
    app.include_router(admin.router, dependencies=[Depends(operator)])
    root = webapp.web_root(settings)
    if root is not None:  # last: it answers the GETs no route above answers
        webapp.install(app, root)
    return app


def _include_bffs(app: FastAPI, settings: Settings) -> None:
    """The BFFs' routes, each guarding its own (registration is open). BFF-mobile's checkout
    is `/mobile/api/v1/checkout` beside BFF-web's, `/api/v1/checkout` when served alone."""
    if "bff-web" in settings.bffs:
        app.include_router(
            graph_api.router(settings.graphql_introspection), include_in_schema=False
        )
        app.include_router(web_api.router)
        # what this process serves itself is not forwarded
        if "identity" not in settings.contexts:
            app.include_router(web_api.registration)
        if "catalog" not in settings.contexts:
            app.include_router(web_api.product_creation)
    if "bff-mobile" in settings.bffs:
        prefix = "/mobile" if "bff-web" in settings.bffs else ""
        app.include_router(mobile_api.router, prefix=prefix)


def app_from_env() -> FastAPI:
    """Factory the HTTP server calls to build the application."""
    configure_logging()
    return create_app()
