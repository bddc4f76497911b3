"""The web app (`web/`, a static export) served at `/` by the process that serves BFF-web."""

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from orderly.config import Settings

# `make run` and `make test` build the app here; ORDERLY_WEB_ROOT names another build.
BUILT = Path(__file__).resolve().parents[3] / "web" / "out"

# The API's own paths are never the app's: an unknown one stays the API's problem+json 404,
# one asked with a method its route does not take the API's 405.
_API = ("/api/", "/mobile/", "/graphql", "/.well-known/", "/docs", "/openapi.json", "/health")

_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def web_root(settings: Settings) -> Path | None:
    """Where the built app is, if this process serves it."""
    if "bff-web" not in settings.bffs or settings.web_root == "off":
        return None
    root = Path(settings.web_root) if settings.web_root else BUILT
    return root if (root / "index.html").is_file() else None


class _Pages(Route):
    """Every GET and HEAD outside the API's paths."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(_API):
            return Match.NONE, {}
        return super().matches(scope)


def install(app: FastAPI, root: Path) -> None:
    """Serves the app's files for the GETs no API route answers: last, and a route, not a
    mount (a mount at `/` would answer an API path asked with the wrong method)."""
    files = StaticFiles(directory=root, html=True)

    async def page(request: Request) -> Response:
        path = files.get_path(request.scope)
        response = await files.get_response(path, request.scope)
        response.headers.update(_HEADERS)
        # file names under _next/static/ change with their content; pages are asked again
        immutable = path.startswith("_next/static/")
        response.headers["cache-control"] = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        return response

    app.router.routes.append(_Pages("/{path:path}", page, methods=["GET", "HEAD"]))
