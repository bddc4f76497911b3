"""The web app's build served at `/` by the process that serves BFF-web, beside the API: the
API's own paths keep their problem+json answers; pages and their files are cached as their
names allow."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orderly.entrypoints.webapp import BUILT
from tests.e2e.server import Server, embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("served")) as running:
        yield running


def test_pages_and_their_files_are_served_with_headers_that_fit_them(server: Server) -> None:
    home = httpx.get(f"{server.url}/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert home.headers["cache-control"] == "no-cache"
    assert home.headers["x-content-type-options"] == "nosniff"
    assert home.headers["x-frame-options"] == "DENY"
    assert home.text == (BUILT / "index.html").read_text()

    # a page's address without its slash is sent to the page
    cart = httpx.get(f"{server.url}/cart")
    assert (cart.status_code, cart.headers["location"]) == (307, f"{server.url}/cart/")
    assert httpx.get(f"{server.url}/cart/").status_code == 200

    # the scripts' names change with their content: kept for a year
    script = re.search(r'src="(/_next/static/[^"]+\.js)"', home.text)
    assert script is not None, home.text[:500]
    asset = httpx.get(f"{server.url}{script.group(1)}")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"

    # an address the app does not have is its "not found" page
    missing = httpx.get(f"{server.url}/no-such-page/")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-route", 404),
        ("GET", "/mobile/api/v1/no-such-route", 404),
        ("DELETE", "/api/v1/orders", 405),
        ("GET", "/api/v1/checkout", 405),
        ("POST", "/", 405),
        ("GET", "/api/v1/orders", 401),
    ],
    ids=[
        "unknown-api",
        "unknown-mobile",
        "wrong-method",
        "get-of-a-post",
        "post-to-page",
        "unauthenticated",
    ],
)
def test_the_apis_paths_keep_their_problem_answers(
    server: Server, method: str, path: str, status: int
) -> None:
    answer = httpx.request(method, f"{server.url}{path}")
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status


def test_a_process_without_bff_web_or_with_the_app_turned_off_serves_no_pages(
    tmp_path: Path,
) -> None:
    for env in ({"ORDERLY_WEB_ROOT": "off"}, {"ORDERLY_CONTEXTS": "identity"}):
        with embedded(tmp_path / str(len(env)), **env) as running:
            answer = httpx.get(f"{running.url}/")
            assert answer.status_code == 404
            assert answer.headers["content-type"] == "application/problem+json"
